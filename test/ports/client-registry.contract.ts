import { expect } from 'chai';
import type { ClientInfo } from '../../src/domain/client.ts';
import type { ClientPresence } from '../../src/ports/client-presence.ts';
import type { ClientRegistry } from '../../src/ports/client-registry.ts';

type Registry = ClientRegistry & ClientPresence;

export interface ClientRegistryFixture {
  registry: Registry;
  /** The registry as a restarted server opens it; absent for a store that does not outlive its process. */
  reopen?(): Promise<Registry>;
  cleanup(): Promise<void>;
}

const client = (id: string, over: Partial<ClientInfo> = {}): Omit<ClientInfo, 'connected'> => ({
  id,
  name: `name-${id}`,
  hostname: `${id}.example`,
  os: 'linux',
  tags: ['web', 'eu'],
  version: '0.1.0',
  fileReception: { enabled: true, protected: ['/bin', '/etc/*'] },
  ...over,
});

const states = async (r: Registry): Promise<[string, boolean][]> =>
  (await r.list()).map((c): [string, boolean] => [c.id, c.connected]).sort(([a], [b]) => a.localeCompare(b));

/** Known clients and their presence: what the in-memory, SQLite and PostgreSQL registries must share. */
export function clientRegistryContract(name: string, factory: () => Promise<ClientRegistryFixture>): void {
  describe(`ClientRegistry contract: ${name}`, () => {
    let fx: ClientRegistryFixture;
    beforeEach(async () => {
      fx = await factory();
    });
    afterEach(() => fx.cleanup());

    it('an unknown id is undefined and an empty registry lists nothing', async () => {
      expect(await fx.registry.get('nope')).to.equal(undefined);
      expect(await fx.registry.list()).to.deep.equal([]);
    });

    it('an announced client is connected, with every field as announced', async () => {
      await fx.registry.announce(client('c1'));
      expect(await fx.registry.get('c1')).to.deep.equal({ ...client('c1'), connected: true });
    });

    it('announcing again replaces what the client said; disconnecting keeps it known', async () => {
      await fx.registry.announce(client('c1'));
      await fx.registry.announce(client('c2'));
      await fx.registry.announce(
        client('c1', { tags: [], version: '0.2.0', fileReception: { enabled: false, protected: [] } }),
      );
      await fx.registry.disconnected('c2');
      expect(await fx.registry.get('c1')).to.deep.include({ tags: [], version: '0.2.0', connected: true });
      expect(await states(fx.registry)).to.deep.equal([
        ['c1', true],
        ['c2', false],
      ]);
      await fx.registry.announce(client('c2'));
      expect((await fx.registry.get('c2'))?.connected).to.equal(true);
    });

    it('disconnecting an unknown client adds nothing', async () => {
      await fx.registry.disconnected('ghost');
      expect(await fx.registry.list()).to.deep.equal([]);
    });

    it('what get and list hand out is a copy: changing it changes nothing stored', async () => {
      await fx.registry.announce(client('c1'));
      const got = (await fx.registry.get('c1'))!;
      got.tags.push('changed');
      (await fx.registry.list())[0].fileReception.protected.push('/changed');
      expect(await fx.registry.get('c1')).to.deep.equal({ ...client('c1'), connected: true });
    });

    it('after a restart the clients are still known and none is connected', async function () {
      if (!fx.reopen) this.skip();
      await fx.registry.announce(client('c1'));
      await fx.registry.announce(client('c2'));
      await fx.registry.disconnected('c2');
      const again = await fx.reopen!();
      expect(await states(again)).to.deep.equal([
        ['c1', false],
        ['c2', false],
      ]);
      expect(await again.get('c1')).to.deep.equal({ ...client('c1'), connected: false });
    });
  });
}
