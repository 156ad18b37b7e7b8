import { expect } from 'chai';
import { KeyObject } from 'node:crypto';
import ssh2 from 'ssh2';
import { fastSigningHostKey, generateParsableKey } from '../../../src/adapters/ssh/host-key.ts';

describe('host key: signing with a ready KeyObject', () => {
  it('signs what the public half verifies, and keeps its private half as a KeyObject (not a PEM decoded at every handshake)', () => {
    const pem = generateParsableKey();
    const key = fastSigningHostKey(pem);
    const field = Object.getOwnPropertySymbols(key).find((s) => s.description === 'Private key PEM');
    expect(field, "ssh2's parsed key no longer has the private PEM field: the speed-up is gone").to.not.equal(
      undefined,
    );
    expect((key as unknown as Record<symbol, unknown>)[field!]).to.be.instanceOf(KeyObject);
    const data = Buffer.from('exchange hash');
    const signature = key.sign(data);
    expect(signature).to.be.instanceOf(Buffer);
    const plain = ssh2.utils.parseKey(pem) as ssh2.ParsedKey;
    expect(plain.verify(data, signature as Buffer)).to.equal(true);
    expect(key.getPublicSSH().equals(plain.getPublicSSH())).to.equal(true);
  });

  it('a key that cannot be read is an error naming the problem', () => {
    expect(() => fastSigningHostKey(Buffer.from('not a key'))).to.throw(/host key cannot be read/);
  });
});
