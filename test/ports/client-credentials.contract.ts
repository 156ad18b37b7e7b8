import { expect } from 'chai';
import type { ClientCredentialEditor, ClientCredentials } from '../../src/ports/client-credentials.ts';

export interface ClientCredentialsFixture {
  credentials: ClientCredentials &
    ClientCredentialEditor & { set(id: string, password: string): Promise<void> };
  /** Every stored row as text, to look for what must never be stored. */
  raw(): Promise<string>;
  cleanup(): Promise<void>;
}

/** The database's client credentials: what the SQLite and PostgreSQL adapters must share. */
export function clientCredentialsContract(
  name: string,
  factory: () => Promise<ClientCredentialsFixture>,
): void {
  describe(`ClientCredentials contract: ${name}`, () => {
    let fx: ClientCredentialsFixture;
    beforeEach(async () => {
      fx = await factory();
    });
    afterEach(() => fx.cleanup());

    it('add stores a hash, never the password; verify takes only the right password of a known id', async () => {
      expect(await fx.credentials.add('agent1', 'p4ss-word')).to.equal(true);
      expect(await fx.raw()).to.not.include('p4ss-word');
      expect(await fx.credentials.verify('agent1', 'p4ss-word')).to.equal(true);
      expect(await fx.credentials.verify('agent1', 'p4ss-worD')).to.equal(false);
      expect(await fx.credentials.verify('agent2', 'p4ss-word')).to.equal(false);
    });

    it('add refuses an id that exists and keeps its password; set replaces it', async () => {
      await fx.credentials.add('agent1', 'first');
      expect(await fx.credentials.add('agent1', 'second')).to.equal(false);
      expect(await fx.credentials.verify('agent1', 'first')).to.equal(true);
      await fx.credentials.set('agent1', 'third');
      await fx.credentials.set('agent2', 'fourth');
      expect(await fx.credentials.verify('agent1', 'first')).to.equal(false);
      expect(await fx.credentials.verify('agent1', 'third')).to.equal(true);
      expect(await fx.credentials.verify('agent2', 'fourth')).to.equal(true);
    });

    it('list is sorted; remove takes an id out once', async () => {
      for (const id of ['c', 'a', 'b']) await fx.credentials.add(id, 'pw');
      expect(await fx.credentials.list()).to.deep.equal(['a', 'b', 'c']);
      expect(await fx.credentials.remove('b')).to.equal(true);
      expect(await fx.credentials.remove('b')).to.equal(false);
      expect(await fx.credentials.list()).to.deep.equal(['a', 'c']);
      expect(await fx.credentials.verify('b', 'pw')).to.equal(false);
    });
  });
}
