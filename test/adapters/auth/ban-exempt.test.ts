import { expect } from 'chai';
import { AddressList, parseCidr, sourceKey } from '../../../src/adapters/auth/address-list.ts';
import { ConfigError, parseServerConfig } from '../../../src/adapters/config/server-config.ts';

describe('[server] ban_exempt: CIDR ranges never penalised', () => {
  it('reads a list of IPv4 and IPv6 ranges (a bare address is a range of one); the default is none', () => {
    const c = parseServerConfig({ server: { ban_exempt: ['10.0.0.0/8', 'fd00::/8', '192.0.2.7'] } }, '/tmp');
    expect(c.server.ban_exempt).to.deep.equal(['10.0.0.0/8', 'fd00::/8', '192.0.2.7']);
    expect(parseServerConfig({}, '/tmp').server.ban_exempt).to.deep.equal([]);
  });

  for (const [value, shown] of [
    [['10.0.0.0/33'], '"10.0.0.0/33"'],
    [['10.0.0/8'], '"10.0.0/8"'],
    [['fd00::/129'], '"fd00::/129"'],
    [['example.com/8'], '"example.com/8"'],
    [[8], '8'],
  ] as const)
    it(`refuses ${JSON.stringify(value)} with an error naming the key and the entry`, () => {
      expect(() => parseServerConfig({ server: { ban_exempt: value as unknown as string[] } }, '/tmp'))
        .to.throw(ConfigError, /^\[server\] ban_exempt: /)
        .with.property('message')
        .that.includes(`${shown} is not a CIDR range`);
    });

  it('refuses a single string instead of a list, naming the key', () => {
    expect(() => parseServerConfig({ server: { ban_exempt: '10.0.0.0/8' } }, '/tmp')).to.throw(
      /\[server\] ban_exempt: must be a list of CIDR ranges/,
    );
  });

  it('matches addresses inside the ranges only, IPv4 on a dual-stack socket included', () => {
    const list = new AddressList(['10.0.0.0/8', 'fd00::/8', '192.0.2.7']);
    expect(['10.1.2.3', '::ffff:10.9.9.9', 'fd12::1', '192.0.2.7'].map((a) => list.has(a))).to.deep.equal([
      true,
      true,
      true,
      true,
    ]);
    expect(
      ['11.0.0.1', '192.0.2.8', 'fe80::1', 'unknown', '127.0.0.1'].map((a) => list.has(a)),
    ).to.deep.equal([false, false, false, false, false]);
    expect(new AddressList().has('10.0.0.1')).to.equal(false);
  });

  it('parses ranges and spells sources one way', () => {
    expect(parseCidr('10.0.0.0/8')).to.deep.equal({ network: '10.0.0.0', prefix: 8, family: 'ipv4' });
    expect(parseCidr('::1')).to.deep.equal({ network: '::1', prefix: 128, family: 'ipv6' });
    expect(parseCidr('10.0.0.0/')).to.equal(undefined);
    expect(sourceKey('::FFFF:127.0.0.1')).to.equal('127.0.0.1');
    expect(sourceKey('FD00::1')).to.equal('fd00::1');
  });
});
