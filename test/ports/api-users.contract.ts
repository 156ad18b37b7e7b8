import { expect } from 'chai';
import type { ApiUserAdmin, UserGroupAdmin } from '../../src/ports/api-user-admin.ts';
import type { ApiUserDirectory } from '../../src/ports/api-user-directory.ts';

export interface ApiUsersFixture {
  users: ApiUserAdmin & ApiUserDirectory;
  groups: UserGroupAdmin;
  cleanup(): Promise<void>;
}

const ADMINS = 'Administrators';
const PW = 'correct horse';

async function rejection(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (e) {
    return e as Error;
  }
  throw new Error('expected the call to fail');
}

/** The database's API users and user groups: what the SQLite and PostgreSQL adapters must share. */
export function apiUsersContract(name: string, factory: () => Promise<ApiUsersFixture>): void {
  describe(`ApiUsers and UserGroups contract: ${name}`, () => {
    let fx: ApiUsersFixture;
    beforeEach(async () => {
      fx = await factory();
    });
    afterEach(() => fx.cleanup());

    it('create, then list (sorted, groups sorted), get, authenticate; a second create is "exists"', async () => {
      expect(await fx.users.create('bob', PW, ['ops', 'dev'])).to.equal(undefined);
      expect(await fx.users.create('alice', PW, [ADMINS])).to.equal(undefined);
      expect(await fx.users.create('bob', 'another password', [])).to.equal('exists');
      expect(await fx.users.list()).to.deep.equal([
        { username: 'alice', groups: [ADMINS] },
        { username: 'bob', groups: ['dev', 'ops'] },
      ]);
      expect(await fx.users.get('nobody')).to.equal(undefined);
      expect(await fx.users.authenticate('bob', PW)).to.deep.equal({
        username: 'bob',
        admin: false,
        groups: ['dev', 'ops'],
      });
      expect(await fx.users.authenticate('bob', 'another password'), 'the first create is kept').to.equal(
        undefined,
      );
      expect(await fx.users.authenticate('nobody', PW)).to.equal(undefined);
      expect((await fx.users.authenticate('alice', PW))?.admin).to.equal(true);
    });

    it('a bad username or a short password is refused naming it, and nothing is stored', async () => {
      expect((await rejection(fx.users.create('bad name;', PW, []))).message).to.contain(
        'username "bad name;"',
      );
      expect((await rejection(fx.users.create('carol', 'short', []))).message).to.contain('carol');
      expect(await fx.users.list()).to.deep.equal([]);
    });

    it('a new password or name ends the sessions (the stamp changes); new groups alone do not', async () => {
      await fx.users.create('alice', PW, [ADMINS]);
      await fx.users.create('bob', PW, ['ops']);
      const s1 = (await fx.users.sessionStamp!('bob'))!;
      expect(await fx.users.find('bob', s1)).to.deep.include({ username: 'bob' });
      expect(await fx.users.update('bob', { groups: ['dev'] })).to.equal(undefined);
      expect(await fx.users.find('bob', s1)).to.deep.equal({
        username: 'bob',
        admin: false,
        groups: ['dev'],
      });
      expect(await fx.users.update('bob', { password: 'a new password' })).to.equal(undefined);
      expect(await fx.users.find('bob', s1)).to.equal(undefined);
      expect(await fx.users.authenticate('bob', 'a new password')).to.deep.include({ username: 'bob' });
      const s2 = (await fx.users.sessionStamp!('bob'))!;
      expect(await fx.users.update('bob', { username: 'robert' })).to.equal(undefined);
      expect(await fx.users.find('bob')).to.equal(undefined);
      expect(await fx.users.find('robert', s2)).to.equal(undefined);
      expect(await fx.users.find('robert')).to.deep.equal({
        username: 'robert',
        admin: false,
        groups: ['dev'],
      });
      expect(await fx.users.update('robert', { username: 'alice' })).to.equal('exists');
      expect(await fx.users.update('ghost', { groups: [] })).to.equal('not-found');
    });

    it('the last administrator can be neither removed, renamed away from the group, nor deleted', async () => {
      await fx.users.create('alice', PW, [ADMINS]);
      expect(await fx.users.update('alice', { groups: ['ops'] })).to.equal('last-admin');
      expect(await fx.users.delete('alice')).to.equal('last-admin');
      expect(await fx.users.update('alice', { username: 'root' })).to.equal(undefined);
      await fx.users.create('bob', PW, [ADMINS]);
      expect(await fx.users.delete('root')).to.equal(undefined);
      expect(await fx.users.delete('root')).to.equal('not-found');
      expect(await fx.users.list()).to.deep.equal([{ username: 'bob', groups: [ADMINS] }]);
    });

    it('of two admins deleted at once, one stays', async () => {
      await fx.users.create('alice', PW, [ADMINS]);
      await fx.users.create('bob', PW, [ADMINS]);
      const outcomes = await Promise.all([fx.users.delete('alice'), fx.users.update('bob', { groups: [] })]);
      expect(outcomes.filter((o) => o === 'last-admin')).to.have.length(1);
      const left = await fx.users.list();
      expect(left.filter((u) => u.groups.includes(ADMINS))).to.have.length(1);
    });

    it('user groups: stored details and groups only named by members, sorted; put replaces', async () => {
      await fx.users.create('bob', PW, ['ops', 'members-only']);
      await fx.groups.put({ name: 'ops', permissions: { uploads: true } });
      await fx.groups.put({ name: 'empty', permissions: { uploads: false, commands: true } });
      await fx.groups.put({ name: 'ops', permissions: { uploads: false } });
      expect(await fx.groups.list()).to.deep.equal([
        { name: 'empty', permissions: { uploads: false, commands: true } },
        { name: 'members-only', permissions: {} },
        { name: 'ops', permissions: { uploads: false } },
      ]);
      expect(await fx.groups.get('members-only')).to.deep.equal({ name: 'members-only', permissions: {} });
      expect(await fx.groups.get('nope')).to.equal(undefined);
    });

    it('deleting a user group removes its details and every membership; an unknown one is false', async () => {
      await fx.users.create('bob', PW, ['ops', 'dev']);
      await fx.groups.put({ name: 'ops', permissions: { uploads: true } });
      expect(await fx.groups.delete('ops')).to.equal(true);
      expect(await fx.groups.get('ops')).to.equal(undefined);
      expect((await fx.users.get('bob'))?.groups).to.deep.equal(['dev']);
      expect(await fx.groups.delete('ops')).to.equal(false);
    });
  });
}
