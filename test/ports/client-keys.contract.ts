import { expect } from 'chai';
import type { ClientKeyBinding, ClientKeys } from '../../src/ports/client-keys.ts';

export interface ClientKeysFixture {
  keys: ClientKeys;
  /** The same store as a restarted server opens it (the in-memory one: the same object). */
  reopen(): Promise<ClientKeys>;
  cleanup(): Promise<void>;
}

const binding = (clientId: string, key: string): ClientKeyBinding => ({
  clientId,
  key,
  fingerprint: `SHA256:${key}-fp`,
  boundAt: '2025-01-02T03:04:05.000Z',
});

/** The ClientKeys port's behaviour, which the SQLite adapter and the in-memory one must share. */
export function clientKeysContract(name: string, factory: () => Promise<ClientKeysFixture>): void {
  describe(`ClientKeys contract: ${name}`, () => {
    let fx: ClientKeysFixture;
    beforeEach(async () => {
      fx = await factory();
    });
    afterEach(() => fx.cleanup());

    it('an unbound id has no key', async () => {
      expect(await fx.keys.keyOf('web-1')).to.equal(undefined);
    });

    it('the first claim binds; the same key then matches and another is a mismatch, naming the bound one', async () => {
      expect(await fx.keys.claim(binding('web-1', 'AAAA'))).to.deep.equal({
        outcome: 'bound',
        binding: binding('web-1', 'AAAA'),
      });
      expect((await fx.keys.claim(binding('web-1', 'AAAA'))).outcome).to.equal('matched');
      const other = await fx.keys.claim({ ...binding('web-1', 'BBBB'), boundAt: '2030-01-01T00:00:00.000Z' });
      expect(other).to.deep.equal({ outcome: 'mismatch', binding: binding('web-1', 'AAAA') });
      expect(await fx.keys.keyOf('web-1')).to.deep.equal(binding('web-1', 'AAAA'));
    });

    it('ids are bound apart: one key per id, and one key may hold two ids', async () => {
      await fx.keys.claim(binding('web-1', 'AAAA'));
      expect((await fx.keys.claim(binding('web-2', 'BBBB'))).outcome).to.equal('bound');
      expect((await fx.keys.claim(binding('web-3', 'AAAA'))).outcome).to.equal('bound');
      expect((await fx.keys.keyOf('web-2'))?.key).to.equal('BBBB');
    });

    it('of two claims racing for a free id, exactly one binds', async () => {
      const [a, b] = await Promise.all([
        fx.keys.claim(binding('race', 'AAAA')),
        fx.keys.claim(binding('race', 'BBBB')),
      ]);
      expect([a.outcome, b.outcome].sort()).to.deep.equal(['bound', 'mismatch']);
      expect(a.binding).to.deep.equal(b.binding);
    });

    it('release returns the binding it removed; the next claim binds a new key', async () => {
      await fx.keys.claim(binding('web-1', 'AAAA'));
      expect(await fx.keys.release('web-1')).to.deep.equal(binding('web-1', 'AAAA'));
      expect(await fx.keys.keyOf('web-1')).to.equal(undefined);
      expect(await fx.keys.release('web-1'), 'nothing left to release').to.equal(undefined);
      expect((await fx.keys.claim(binding('web-1', 'BBBB'))).outcome).to.equal('bound');
    });

    it('a binding outlives a restart', async () => {
      await fx.keys.claim(binding('web-1', 'AAAA'));
      const again = await fx.reopen();
      expect(await again.keyOf('web-1')).to.deep.equal(binding('web-1', 'AAAA'));
      expect((await again.claim(binding('web-1', 'BBBB'))).outcome).to.equal('mismatch');
    });
  });
}
