import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import {
  ipv6Of,
  parseProxyHeader,
  V1_MAX_BYTES,
  V2_MAX_BYTES,
} from '../../../src/adapters/net/proxy-header.ts';
import { v2, v2Tcp4 } from './proxy-headers.ts';

const SIG = Buffer.from('0d0a0d0a000d0a515549540a', 'hex');

const header = (b: Buffer) => {
  const r = parseProxyHeader(b);
  if (r.kind !== 'header') throw new Error(`expected a header, got ${JSON.stringify(r)}`);
  return r;
};
const reason = (b: Buffer | string) => {
  const r = parseProxyHeader(typeof b === 'string' ? Buffer.from(b, 'latin1') : b);
  if (r.kind !== 'invalid') throw new Error(`expected invalid, got ${JSON.stringify(r)}`);
  return r.reason;
};

describe('PROXY protocol header parser', () => {
  describe('v1', () => {
    it('reads TCP4 and TCP6 lines, and the length up to the CRLF only', () => {
      const line = 'PROXY TCP4 203.0.113.7 10.0.0.1 56324 2222\r\n';
      const r = header(Buffer.from(line + 'SSH-2.0-x\r\n'));
      expect(r).to.deep.equal({
        kind: 'header',
        version: 1,
        length: line.length,
        source: { address: '203.0.113.7', port: 56324 },
      });
      const six = header(Buffer.from('PROXY TCP6 2001:db8::7 2001:db8::1 0 65535\r\n'));
      expect(six.source).to.deep.equal({ address: '2001:db8::7', port: 0 });
    });

    it('takes UNKNOWN with or without addresses, naming no source', () => {
      expect(header(Buffer.from('PROXY UNKNOWN\r\n')).source).to.equal(undefined);
      expect(header(Buffer.from('PROXY UNKNOWN ffff::1 ffff::2 1 2\r\n')).length).to.equal(35);
    });

    it('asks for more at every prefix of a valid line', () => {
      const line = Buffer.from('PROXY TCP4 192.0.2.1 192.0.2.2 1 2\r\n');
      for (let n = 0; n < line.length; n++)
        expect(parseProxyHeader(line.subarray(0, n)).kind, `at ${n} bytes`).to.equal('incomplete');
    });

    it('refuses a line longer than 107 bytes, however it goes on', () => {
      const long = Buffer.from('PROXY UNKNOWN ' + 'a'.repeat(V1_MAX_BYTES));
      expect(reason(long)).to.contain('longer than 107');
      // A CRLF past the bound does not make it valid.
      expect(reason(Buffer.concat([long, Buffer.from('\r\n')]))).to.contain('longer than 107');
      expect(parseProxyHeader(long.subarray(0, V1_MAX_BYTES - 1)).kind).to.equal('incomplete');
    });

    const hostile: [string, string][] = [
      ['PROXY TCP4 203.0.113.7 10.0.0.1 1 2 3\r\n', 'must be'],
      ['PROXY TCP4 203.0.113.7  10.0.0.1 1 2\r\n', 'must be'],
      ['PROXY tcp4 203.0.113.7 10.0.0.1 1 2\r\n', 'protocol "tcp4"'],
      ['PROXY UDP4 203.0.113.7 10.0.0.1 1 2\r\n', 'protocol "UDP4"'],
      ['PROXY TCP4 2001:db8::1 10.0.0.1 1 2\r\n', 'not an TCP4 address'],
      ['PROXY TCP6 203.0.113.7 2001:db8::1 1 2\r\n', 'not an TCP6 address'],
      ['PROXY TCP4 203.0.113.256 10.0.0.1 1 2\r\n', 'source address'],
      ['PROXY TCP4 203.0.113.7 10.0.0.x 1 2\r\n', 'destination address'],
      ['PROXY TCP4 203.0.113.7 10.0.0.1 65536 2\r\n', 'ports'],
      ['PROXY TCP4 203.0.113.7 10.0.0.1 01 2\r\n', 'ports'],
      ['PROXY TCP4 203.0.113.7 10.0.0.1 -1 2\r\n', 'ports'],
      ['PROXY TCP4 203.0.113.7 10.0.0.1 1 2e3\r\n', 'ports'],
      ['PROXY TCP4 203.0.113.7\t10.0.0.1 1 2\r\n', 'byte 0x09'],
      ['PROXY TCP4 203.0.113.7\n10.0.0.1 1 2\r\n', 'byte 0x0a'],
      ['PROXY TCP4 203.0.113.\u00e97 10.0.0.1 1 2\r\n', 'byte 0xe9'],
      ['PROXY TCP4 203.0.113.7 10.0.0.1 1 2\n', 'byte 0x0a'],
      ['PROXY \r\n', 'must be'],
    ];
    for (const [line, why] of hostile)
      it(`refuses ${JSON.stringify(line)}`, () => expect(reason(line)).to.contain(why));
  });

  describe('v2', () => {
    it('reads a PROXY TCP4 header and leaves the bytes after it', () => {
      const h = v2Tcp4('198.51.100.9', 40_000);
      const r = header(Buffer.concat([h, Buffer.from('SSH-2.0-x\r\n')]));
      expect(r).to.deep.equal({
        kind: 'header',
        version: 2,
        length: 28,
        source: { address: '198.51.100.9', port: 40_000 },
      });
    });

    it('reads TCP6, mapped IPv4 and TLVs after the addresses', () => {
      const block = Buffer.alloc(36);
      Buffer.from('20010db8000000000000000000000007', 'hex').copy(block, 0);
      block.writeUInt16BE(443, 32);
      const tlv = Buffer.from([0x04, 0x00, 0x02, 0xab, 0xcd]); // a NOOP TLV is skipped
      expect(header(v2(1, 0x21, block, tlv))).to.deep.include({
        length: 16 + 36 + 5,
        source: { address: '2001:db8::7', port: 443 },
      });
      Buffer.from('00000000000000000000ffffc0000201', 'hex').copy(block, 0);
      expect(header(v2(1, 0x21, block)).source?.address).to.equal('::ffff:192.0.2.1');
    });

    it('takes LOCAL (a health check), UNSPEC and AF_UNIX without a source', () => {
      expect(header(v2(0, 0x00, Buffer.alloc(0)))).to.deep.equal({ kind: 'header', version: 2, length: 16 });
      expect(header(v2(0, 0x11, Buffer.alloc(12))).source).to.equal(undefined);
      expect(header(v2(1, 0x00, Buffer.alloc(0))).source).to.equal(undefined);
      expect(header(v2(1, 0x31, Buffer.alloc(216))).source).to.equal(undefined);
    });

    it('asks for more at every prefix of a valid header', () => {
      const h = v2Tcp4('198.51.100.9', 1);
      for (let n = 0; n < h.length; n++)
        expect(parseProxyHeader(h.subarray(0, n)).kind, `at ${n} bytes`).to.equal('incomplete');
    });

    it(`refuses a length past ${V2_MAX_BYTES} bytes from the fixed part alone`, () => {
      const h = v2(1, 0x11, Buffer.alloc(12), Buffer.alloc(V2_MAX_BYTES));
      expect(reason(h.subarray(0, 16))).to.contain(`at most ${V2_MAX_BYTES}`);
      const max = v2(1, 0x11, Buffer.alloc(12), Buffer.alloc(V2_MAX_BYTES - 28));
      expect(header(max).length).to.equal(V2_MAX_BYTES);
    });

    const bad = (b: Buffer, at: number, value: number) => {
      const copy = Buffer.from(b);
      copy[at] = value;
      return copy;
    };
    const tcp4 = v2Tcp4('198.51.100.9', 1);
    const hostile: [string, Buffer, string][] = [
      ['version 1', bad(tcp4, 12, 0x11), 'version 1'],
      ['version 3', bad(tcp4, 12, 0x31), 'version 3'],
      ['command 2', bad(tcp4, 12, 0x22), 'command 2'],
      ['family 4', bad(tcp4, 13, 0x41), 'address family 4'],
      ['transport 3', bad(tcp4, 13, 0x13), 'transport 3'],
      ['UDP', bad(tcp4, 13, 0x12), 'datagram'],
      ['no transport', bad(tcp4, 13, 0x10), 'no transport'],
      ['TCP6 in a TCP4-sized block', bad(tcp4, 13, 0x21), 'too short'],
      ['a short block', v2(1, 0x11, Buffer.alloc(11)), 'too short'],
    ];
    for (const [what, b, why] of hostile) it(`refuses ${what}`, () => expect(reason(b)).to.contain(why));

    it('refuses a broken signature at its first wrong byte', () => {
      expect(reason(bad(tcp4, 7, 0x00).subarray(0, 8))).to.contain('no PROXY header');
    });
  });

  it('refuses a connection that starts with anything else at once, showing its first bytes safely', () => {
    expect(reason('SSH-2.0-OpenSSH_9.2\r\n')).to.equal(
      'no PROXY header: the connection starts with "SSH-2.0-OpenSSH_"',
    );
    expect(reason('GET / HTTP/1.1\r\n')).to.contain('"GET / HTTP/1.1.."');
    expect(reason('PROXX')).to.contain('no PROXY header');
    expect(parseProxyHeader(Buffer.from('PROX')).kind).to.equal('incomplete');
  });

  it('never throws on random bytes, nor claims more bytes than it was given', () => {
    for (let i = 0; i < 5000; i++) {
      const prefix = i % 3 === 0 ? SIG : i % 3 === 1 ? Buffer.from('PROXY ') : Buffer.alloc(0);
      const b = Buffer.concat([prefix, randomBytes(i % 200)]);
      const r = parseProxyHeader(b);
      if (r.kind === 'header') {
        expect(r.length).to.be.at.most(b.length);
        expect(r.length).to.be.at.most(V2_MAX_BYTES);
      }
    }
  });

  it('writes IPv6 in its shortest form', () => {
    const six = (h: string) => ipv6Of(Buffer.from(h, 'hex'));
    expect(six('00000000000000000000000000000001')).to.equal('::1');
    expect(six('00000000000000000000000000000000')).to.equal('::');
    expect(six('20010db8000000010000000000000001')).to.equal('2001:db8:0:1::1');
    expect(six('20010db8000100010001000100010001')).to.equal('2001:db8:1:1:1:1:1:1');
    expect(six('fe800000000000000000000000000000')).to.equal('fe80::');
  });
});
