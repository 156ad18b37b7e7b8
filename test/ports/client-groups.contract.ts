import { expect } from 'chai';
import type { ClientGroup } from '../../src/domain/client-group.ts';
import type { ClientGroupEditor, ClientGroupStore } from '../../src/ports/client-group-store.ts';

export interface ClientGroupsFixture {
  store: ClientGroupStore;
  /** Stores a group however the adapter can. */
  seed(g: ClientGroup): Promise<void>;
  /** The API's edits; absent for the in-memory store, which tests fill directly. */
  editor?: ClientGroupEditor;
  cleanup(): Promise<void>;
}

const group = (id: string, over: Partial<ClientGroup> = {}): ClientGroup => ({
  id,
  description: `group ${id}`,
  params: { tag: ['web'], os: ['linux*'], client_id: ['a-*', 'b'] },
  allowed_user_groups: ['ops', 'dev'],
  ...over,
});

/** Client groups: what the in-memory, SQLite and PostgreSQL stores must share. */
export function clientGroupsContract(name: string, factory: () => Promise<ClientGroupsFixture>): void {
  describe(`ClientGroupStore contract: ${name}`, () => {
    let fx: ClientGroupsFixture;
    beforeEach(async () => {
      fx = await factory();
    });
    afterEach(() => fx.cleanup());

    it('get gives a group back as stored; an unknown id is undefined', async () => {
      await fx.seed(group('web'));
      expect(await fx.store.get('web')).to.deep.equal(group('web'));
      expect(await fx.store.get('nope')).to.equal(undefined);
    });

    // Lower case only: the in-memory store sorts with localeCompare, the databases by bytes ('Z' < 'a').
    it('list is sorted by id', async () => {
      for (const id of ['b', 'c', 'a', 'a-2']) await fx.seed(group(id));
      expect((await fx.store.list()).map((g) => g.id)).to.deep.equal(['a', 'a-2', 'b', 'c']);
    });

    it('what get hands out is a copy', async () => {
      await fx.seed(group('web'));
      (await fx.store.get('web'))!.allowed_user_groups.push('mallory');
      expect((await fx.store.get('web'))!.allowed_user_groups).to.deep.equal(['ops', 'dev']);
    });

    describe('edits', () => {
      beforeEach(function () {
        if (!fx.editor) this.skip();
      });

      it('create refuses an id that exists and keeps the first', async () => {
        const ed = fx.editor!;
        expect(await ed.create(group('web'))).to.equal(true);
        expect(await ed.create(group('web', { description: 'second' }))).to.equal(false);
        expect((await ed.get('web'))?.description).to.equal('group web');
      });

      it('update replaces everything but the id; an unknown id is false', async () => {
        const ed = fx.editor!;
        await ed.create(group('web'));
        const changed = group('web', {
          description: 'changed',
          params: { hostname: ['h*'] },
          allowed_user_groups: [],
        });
        expect(await ed.update(changed)).to.equal(true);
        expect(await ed.get('web')).to.deep.equal(changed);
        expect(await ed.update(group('nope'))).to.equal(false);
        expect(await ed.get('nope')).to.equal(undefined);
      });

      it('delete removes the group once', async () => {
        const ed = fx.editor!;
        await ed.create(group('web'));
        expect(await ed.delete('web')).to.equal(true);
        expect(await ed.delete('web')).to.equal(false);
        expect(await ed.list()).to.deep.equal([]);
      });
    });
  });
}
