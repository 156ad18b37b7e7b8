import { expect } from 'chai';
import { createPublicKey, diffieHellman, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { createServer, type AddressInfo, type Server } from 'node:net';
import ssh2 from 'ssh2';
import { generateParsableKey } from '../../../src/adapters/ssh/host-key.ts';
import {
  fasterHostKeyVerify,
  fasterKeyExchange,
  secretMpint,
} from '../../../src/adapters/ssh/ssh2-key-paths.ts';

/** SPKI DER of an X25519 public key is this prefix and its 32 bytes (RFC 8410): ssh2's own import. */
const X25519_SPKI_PREFIX = Buffer.from('302a300506032b656e032100', 'hex');

interface Kex {
  type: string;
  _keys: { publicKey: KeyObject; privateKey: KeyObject } | null;
  generateKeys(): void;
  getPublicKey(): Buffer;
  computeSecret(other: Buffer): Buffer | Error;
}

/** One password login against a bare ssh2 server on loopback; resolves with the client once ready. */
function login(port: number, hostKeyOk: (key: Buffer) => boolean = () => true): Promise<ssh2.Client> {
  return new Promise((resolve, reject) => {
    const client = new ssh2.Client();
    client.once('ready', () => resolve(client));
    client.once('error', reject);
    client.connect({
      host: '127.0.0.1',
      port,
      username: 'u',
      password: 'p',
      algorithms: { kex: ['curve25519-sha256'] },
      hostVerifier: hostKeyOk,
    });
  });
}

describe('ssh2 key paths: the same bytes through cheaper imports', () => {
  let tcp: Server;
  let port: number;
  const servers: ssh2.Connection[] = [];

  before(async () => {
    const ssh = new ssh2.Server({ hostKeys: [generateParsableKey()] }, (c) => {
      servers.push(c);
      c.on('authentication', (ctx) => ctx.accept());
      c.on('ready', () => fasterKeyExchange(c));
      c.on('error', () => undefined);
    });
    tcp = createServer((s) => ssh.injectSocket(s));
    await new Promise<void>((r) => tcp.listen(0, '127.0.0.1', r));
    port = (tcp.address() as AddressInfo).port;
  });

  after(async () => {
    for (const c of servers) c.end();
    await new Promise<void>((r) => tcp.close(() => r()));
  });

  it('writes a shared secret as the SSH mpint ssh2 writes', () => {
    expect(secretMpint(Buffer.from([0, 0, 0x12, 0x34]))).to.deep.equal(Buffer.from([0x12, 0x34]));
    expect(secretMpint(Buffer.from([0, 0x80, 1]))).to.deep.equal(Buffer.from([0, 0x80, 1]));
    expect(secretMpint(Buffer.from([0xff, 1]))).to.deep.equal(Buffer.from([0, 0xff, 1]));
    expect(secretMpint(Buffer.from([0x7f, 1]))).to.deep.equal(Buffer.from([0x7f, 1]));
  });

  it('after the first curve25519 exchange, later ones use the JWK paths and agree on the secret', async () => {
    const first = await login(port);
    fasterKeyExchange(first);
    const kex = (first as unknown as { _protocol: { _kex: Kex } })._protocol._kex;
    expect(kex.type, "ssh2's exchange is no longer where it was: the speed-up is gone").to.equal('25519');
    const proto = Object.getPrototypeOf(kex) as Kex;
    expect(proto.computeSecret.name, 'the exchange methods were not replaced').to.equal('jwkComputeSecret');
    expect(proto.getPublicKey.name).to.equal('jwkGetPublicKey');

    // The replaced methods against a DER import of the same keys, as ssh2 does it.
    const mine = generateKeyPairSync('x25519');
    const peer = generateKeyPairSync('x25519');
    const peerRaw = peer.publicKey.export({ format: 'der', type: 'spki' }).subarray(-32);
    const fake = Object.create(proto) as Kex;
    fake._keys = mine;
    fake.type = '25519';
    const expected = secretMpint(
      diffieHellman({
        privateKey: mine.privateKey,
        publicKey: createPublicKey({
          key: Buffer.concat([X25519_SPKI_PREFIX, peerRaw]),
          format: 'der',
          type: 'spki',
        }),
      }),
    );
    expect(fake.computeSecret(peerRaw)).to.deep.equal(expected);
    expect(fake.getPublicKey()).to.deep.equal(
      mine.publicKey.export({ format: 'der', type: 'spki' }).subarray(-32),
    );
    expect(fake.computeSecret(Buffer.alloc(5))).to.be.instanceOf(Error);

    // And real handshakes through them still log in, from both sides.
    const second = await login(port);
    const third = await login(port);
    expect((second as unknown as { _protocol: { _kex: Kex } })._protocol._kex).to.be.instanceOf(
      proto.constructor,
    );
    for (const c of [first, second, third]) c.end();
  });

  it('verifies a host key signature with a KeyObject kept per key, and still refuses a wrong one', async () => {
    fasterHostKeyVerify();
    const a = ssh2.utils.parseKey(generateParsableKey()) as ssh2.ParsedKey;
    const b = ssh2.utils.parseKey(generateParsableKey()) as ssh2.ParsedKey;
    const publicA = ssh2.utils.parseKey(a.getPublicSSH()) as ssh2.ParsedKey;
    const publicB = ssh2.utils.parseKey(b.getPublicSSH()) as ssh2.ParsedKey;
    expect(publicA.verify.name, 'the verify of parsed keys was not replaced').to.equal('fastVerify');
    const data = Buffer.from('exchange hash');
    const signed = a.sign(data) as Buffer;
    for (let i = 0; i < 2; i++) {
      expect(publicA.verify(data, signed)).to.equal(true);
      expect(publicB.verify(data, signed)).to.equal(false);
    }
    const tampered = Buffer.from(signed);
    tampered[5] ^= 1;
    expect(publicA.verify(data, tampered)).to.equal(false);
    expect(publicA.verify(Buffer.from('another hash'), signed)).to.equal(false);
    // A real login verifies rportd's kind of host key through it.
    const client = await login(port);
    client.end();
  });
});
