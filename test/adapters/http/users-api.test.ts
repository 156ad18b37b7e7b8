import { expect } from 'chai';
import { startTestServer, type TestServer } from './http-harness.ts';

interface ErrorDoc {
  errors: { code: string; title: string; detail: string }[];
}

describe('HTTP API: users, user groups and me (real SQLite)', () => {
  let t: TestServer;
  let admin: string;
  before(async () => {
    t = await startTestServer();
    admin = await t.login(t.admin.username, t.admin.password);
    await t.addUser('viewer', 'viewer-pass-1', ['Operators']);
  });
  after(() => t.close());

  const call = async (
    method: string,
    path: string,
    token: string,
    body?: unknown,
  ): Promise<{ status: number; doc: unknown }> => {
    const res = await fetch(`${t.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, doc: text === '' ? undefined : (JSON.parse(text) as unknown) };
  };
  const detail = (doc: unknown): string => (doc as ErrorDoc).errors[0].detail;

  it('an Administrator creates, lists, updates and deletes a user; the new user logs in', async () => {
    const created = await call('POST', '/api/v1/users', admin, {
      username: 'alice',
      password: 'alice-pass-1',
      groups: ['Operators'],
    });
    expect(created.status).to.equal(201);
    const list = await call('GET', '/api/v1/users', admin);
    expect(list.status).to.equal(200);
    expect((list.doc as { data: unknown[] }).data).to.deep.include({
      username: 'alice',
      groups: ['Operators'],
    });
    const aliceToken = await t.login('alice', 'alice-pass-1');

    const updated = await call('PUT', '/api/v1/users/alice', admin, {
      password: 'alice-pass-2',
      groups: ['Operators', 'Web'],
    });
    expect(updated.status).to.equal(204);
    // A new password ends the sessions begun with the old one.
    const stale = await call('GET', '/api/v1/me', aliceToken);
    expect(stale.status).to.equal(401);
    const fresh = await t.login('alice', 'alice-pass-2');
    const me = await call('GET', '/api/v1/me', fresh);
    expect((me.doc as { data: { username: string; groups: string[] } }).data).to.include({
      username: 'alice',
    });
    expect((me.doc as { data: { groups: string[] } }).data.groups).to.deep.equal(['Operators', 'Web']);

    expect((await call('DELETE', '/api/v1/users/alice', admin)).status).to.equal(204);
    expect((await call('GET', '/api/v1/me', fresh)).status).to.equal(401);
    expect((await call('DELETE', '/api/v1/users/alice', admin)).status).to.equal(404);
  });

  it('errors: 409 duplicate, 404 unknown, 400 naming the field, 409 for the last administrator', async () => {
    const dup = await call('POST', '/api/v1/users', admin, { username: 'viewer', password: 'whatever-1' });
    expect(dup.status).to.equal(409);
    expect(detail(dup.doc)).to.match(/username: user "viewer" exists already/);
    const unknown = await call('PUT', '/api/v1/users/nobody', admin, { password: 'whatever-1' });
    expect(unknown.status).to.equal(404);
    expect(detail(unknown.doc)).to.match(/no user "nobody"/);
    const short = await call('POST', '/api/v1/users', admin, { username: 'bob', password: 'short' });
    expect(short.status).to.equal(400);
    expect(detail(short.doc)).to.match(/^password /);
    const extra = await call('POST', '/api/v1/users', admin, {
      username: 'bob',
      password: 'long-enough',
      role: 'x',
    });
    expect(detail(extra.doc)).to.match(/role is not a known field/);
    const last = await call('DELETE', '/api/v1/users/admin', admin);
    expect(last.status).to.equal(409);
    expect(detail(last.doc)).to.match(/last member of Administrators/);
    const demote = await call('PUT', '/api/v1/users/admin', admin, { groups: ['Operators'] });
    expect(demote.status).to.equal(409);
    expect((await call('GET', '/api/v1/users', admin)).status).to.equal(200);
  });

  it('a non-admin gets 403 on users and user groups, and reads only themself', async () => {
    const viewer = await t.login('viewer', 'viewer-pass-1');
    for (const [method, path, body] of [
      ['GET', '/api/v1/users', undefined],
      ['POST', '/api/v1/users', { username: 'x1', password: 'x1-password' }],
      ['PUT', '/api/v1/users/admin', { password: 'taken-over-1' }],
      ['DELETE', '/api/v1/users/admin', undefined],
      ['GET', '/api/v1/user-groups', undefined],
      ['PUT', '/api/v1/user-groups/Administrators', { permissions: {} }],
    ] as const) {
      const r = await call(method, path, viewer, body);
      expect(r.status, `${method} ${path}`).to.equal(403);
      expect(detail(r.doc)).to.match(/only Administrators may/);
    }
    const me = await call('GET', '/api/v1/me', viewer);
    expect(me.doc).to.deep.equal({
      data: {
        username: 'viewer',
        groups: ['Operators'],
        two_fa_send_to: '',
        group_permissions_enabled: false,
      },
    });
  });

  it("PUT /api/v1/me changes one's own password only with the right old password", async () => {
    await t.addUser('carol', 'carol-pass-1', []);
    const carol = await t.login('carol', 'carol-pass-1');
    const missing = await call('PUT', '/api/v1/me', carol, { password: 'carol-pass-2' });
    expect(missing.status).to.equal(403);
    expect(detail(missing.doc)).to.match(/old_password is required/);
    const wrong = await call('PUT', '/api/v1/me', carol, {
      password: 'carol-pass-2',
      old_password: 'nope-nope',
    });
    expect(wrong.status).to.equal(403);
    expect(detail(wrong.doc)).to.match(/old_password is not the current password/);
    const ok = await call('PUT', '/api/v1/me', carol, {
      password: 'carol-pass-2',
      old_password: 'carol-pass-1',
    });
    expect(ok.status).to.equal(204);
    expect((await call('GET', '/api/v1/me', carol)).status).to.equal(401);
    await t.login('carol', 'carol-pass-2');
    const nothing = await call('PUT', '/api/v1/me', await t.login('carol', 'carol-pass-2'), {});
    expect(nothing.status).to.equal(400);
  });

  it('user groups: put creates and updates, get, list with member-only groups, delete removes members', async () => {
    const put = await call('PUT', '/api/v1/user-groups/Web', admin, { permissions: { uploads: true } });
    expect(put.status).to.equal(200);
    expect(put.doc).to.deep.equal({ data: { name: 'Web', permissions: { uploads: true } } });
    await call('PUT', '/api/v1/user-groups/Web', admin, { name: 'Web', permissions: { uploads: false } });
    expect((await call('GET', '/api/v1/user-groups/Web', admin)).doc).to.deep.equal({
      data: { name: 'Web', permissions: { uploads: false } },
    });
    const list = (await call('GET', '/api/v1/user-groups', admin)).doc as { data: { name: string }[] };
    expect(list.data.map((g) => g.name)).to.include.members(['Administrators', 'Operators', 'Web']);
    const bad = await call('PUT', '/api/v1/user-groups/Web', admin, { permissions: { teleport: true } });
    expect(bad.status).to.equal(400);
    expect(detail(bad.doc)).to.match(/teleport is not a known field/);
    const other = await call('PUT', '/api/v1/user-groups/Web', admin, { name: 'Db' });
    expect(detail(other.doc)).to.match(/differs from the path/);

    await t.addUser('dave', 'dave-pass-1', ['Temp']);
    expect((await call('DELETE', '/api/v1/user-groups/Temp', admin)).status).to.equal(204);
    const dave = await t.login('dave', 'dave-pass-1');
    expect(
      ((await call('GET', '/api/v1/me', dave)).doc as { data: { groups: string[] } }).data.groups,
    ).to.deep.equal([]);
    expect((await call('GET', '/api/v1/user-groups/Temp', admin)).status).to.equal(404);
    expect((await call('DELETE', '/api/v1/user-groups/Temp', admin)).status).to.equal(404);
    const adm = await call('DELETE', '/api/v1/user-groups/Administrators', admin);
    expect(adm.status).to.equal(400);
  });
});

describe('HTTP API: users with a static [api] auth', () => {
  let t: TestServer;
  before(async () => {
    t = await startTestServer({ api: { auth: 'root:static-pass-1' } });
  });
  after(() => t.close());

  it('users, user groups and PUT me answer 400 naming [api] auth; GET me works', async () => {
    const basic = `Basic ${Buffer.from('root:static-pass-1').toString('base64')}`;
    for (const [method, path] of [
      ['GET', '/api/v1/users'],
      ['POST', '/api/v1/users'],
      ['PUT', '/api/v1/users/root'],
      ['DELETE', '/api/v1/users/root'],
      ['GET', '/api/v1/user-groups'],
      ['PUT', '/api/v1/user-groups/x'],
      ['PUT', '/api/v1/me'],
    ]) {
      const res = await fetch(`${t.url}${path}`, {
        method,
        headers: { authorization: basic, 'content-type': 'application/json' },
        body:
          method === 'GET' || method === 'DELETE' ? undefined : JSON.stringify({ password: 'new-pass-12' }),
      });
      const doc = (await res.json()) as ErrorDoc;
      expect(res.status, `${method} ${path}`).to.equal(400);
      expect(doc.errors[0].detail).to.include('[api] auth');
    }
    const me = await fetch(`${t.url}/api/v1/me`, { headers: { authorization: basic } });
    expect(((await me.json()) as { data: { username: string } }).data.username).to.equal('root');
  });
});
