import { expect } from 'chai';
import { readdir } from 'node:fs/promises';
import { clientInfo, eventually, startTestServer, type TestServer } from './http-harness.ts';

const payloadOf = (token: string): { exp: number; iat: number; sub: string } =>
  JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString()) as {
    exp: number;
    iat: number;
    sub: string;
  };

describe('HTTP API: openrport login forms, audit log shape, and user groups reaching client groups', () => {
  let t: TestServer;
  let admin: string;
  before(async () => {
    t = await startTestServer();
    admin = await t.login(t.admin.username, t.admin.password);
    await t.presence.announce(clientInfo('web-1', { tags: ['web'] }));
    await t.presence.announce(clientInfo('db-1', { tags: ['db'] }));
    t.agents.connect('web-1');
    t.agents.connect('db-1');
  });
  after(() => t.close());

  const json = async (method: string, path: string, token: string, body?: unknown) => {
    const res = await fetch(`${t.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, doc: (text === '' ? undefined : JSON.parse(text)) as Record<string, never> };
  };
  const upload = (token: string, field: 'client_id' | 'group_id', value: string): Promise<Response> => {
    const fd = new FormData();
    fd.append('upload', new Blob([Buffer.from('hello from wendy\n')]), 'f.txt');
    fd.append(field, value);
    fd.append('dest', '/tmp/wendy.txt');
    return fetch(`${t.url}/api/v1/files`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}` },
      body: fd,
    });
  };

  it('GET /api/v1/login with basic auth returns a token (token-lifetime in the query); without it, 401', async () => {
    const basic = `Basic ${Buffer.from(`admin:${t.admin.password}`).toString('base64')}`;
    const res = await fetch(`${t.url}/api/v1/login?token-lifetime=120`, {
      headers: { authorization: basic },
    });
    expect(res.status).to.equal(200);
    const p = payloadOf(((await res.json()) as { data: { token: string } }).data.token);
    expect([p.sub, p.exp - p.iat]).to.deep.equal(['admin', 120]);
    const none = await fetch(`${t.url}/api/v1/login`);
    expect(none.status).to.equal(401);
    expect(((await none.json()) as { errors: { detail: string }[] }).errors[0].detail).to.match(/basic auth/);
  });

  it('POST /api/v1/login with a form-urlencoded body, as curl -d sends it; JSON still works', async () => {
    const form = new URLSearchParams({
      username: 'admin',
      password: t.admin.password,
      token_lifetime: '300',
    });
    const res = await fetch(`${t.url}/api/v1/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: form.toString(),
    });
    expect(res.status).to.equal(200);
    const p = payloadOf(((await res.json()) as { data: { token: string } }).data.token);
    expect(p.exp - p.iat).to.equal(300);
    const wrong = await fetch(`${t.url}/api/v1/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'username=admin&password=nope',
    });
    expect(wrong.status).to.equal(401);
    const missing = await fetch(`${t.url}/api/v1/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'username=admin',
    });
    expect(missing.status).to.equal(400);
    expect(((await missing.json()) as { errors: { detail: string }[] }).errors[0].detail).to.equal(
      'password is required',
    );
    expect(payloadOf(await t.login('admin', t.admin.password)).sub).to.equal('admin');
  });

  it('a user made through the API, in a user group a client group allows, pushes there and is refused elsewhere', async () => {
    const group = await json('POST', '/api/v1/client-groups', admin, {
      id: 'web',
      params: { tag: ['web'] },
      allowed_user_groups: ['Web'],
    });
    expect(group.status).to.equal(201);
    await json('POST', '/api/v1/client-groups', admin, {
      id: 'db',
      params: { tag: ['db'] },
      allowed_user_groups: ['Db'],
    });
    const made = await json('POST', '/api/v1/users', admin, {
      username: 'wendy',
      password: 'wendy-pass-1',
      groups: ['Web'],
    });
    expect(made.status).to.equal(201);
    const wendy = await t.login('wendy', 'wendy-pass-1');

    const allowed = await upload(wendy, 'group_id', 'web');
    expect(allowed.status, await allowed.clone().text()).to.equal(200);
    await eventually(
      async () => (t.agents.seen.some((s) => s.clientId === 'web-1') ? true : undefined),
      'web-1 push',
    );
    const before = t.agents.seen.length;
    for (const [field, value] of [
      ['group_id', 'db'],
      ['client_id', 'db-1'],
    ] as const) {
      const res = await upload(wendy, field, value);
      expect(res.status, `${field}=${value}`).to.be.oneOf([403, 404]);
    }
    expect(t.agents.seen.length).to.equal(before);
    expect(t.agents.seen.filter((s) => s.clientId === 'db-1')).to.deep.equal([]);
    expect(await readdir(t.filepush)).to.not.include('wendy.txt');

    // Taken out of Web, the same user is refused there too.
    expect((await json('PUT', '/api/v1/users/wendy', admin, { groups: [] })).status).to.equal(204);
    expect((await upload(await t.login('wendy', 'wendy-pass-1'), 'group_id', 'web')).status).to.be.oneOf([
      403, 404,
    ]);
  });

  it("GET /api/v1/auditlog answers openrport's shape; filters, paging, and the non-admin rules", async () => {
    const all = await json('GET', '/api/v1/auditlog?sort=-timestamp&page[limit]=100', admin);
    expect(all.status).to.equal(200);
    const data = (all.doc as unknown as { data: Record<string, unknown>[]; meta: { count: number } }).data;
    const meta = (all.doc as unknown as { meta: { count: number } }).meta;
    expect(meta.count).to.equal(data.length).and.to.be.greaterThan(0);
    const success = data.find((e) => e.action === 'success' && e.client_id === 'web-1')!;
    expect(Object.keys(success).sort()).to.deep.equal([
      'action',
      'affected_id',
      'application',
      'client_hostname',
      'client_id',
      'remote_ip',
      'request',
      'response',
      'timestamp',
      'username',
    ]);
    expect(success).to.include({
      application: 'uploads',
      username: 'wendy',
      client_hostname: 'web-1.example',
    });
    expect(success.request).to.be.a('string');
    expect(() => JSON.parse(success.request as string) as unknown).to.not.throw();

    const one = await json(
      'GET',
      `/api/v1/auditlog?filter[affected_id]=${String(success.affected_id)}&page[limit]=1`,
      admin,
    );
    const page = one.doc as unknown as { data: { affected_id: string }[]; meta: { count: number } };
    expect(page.data).to.have.length(1);
    expect(page.data[0].affected_id).to.equal(success.affected_id);
    expect(page.meta.count).to.be.greaterThan(1);
    const future = await json('GET', '/api/v1/auditlog?filter[timestamp][gt]=2999-01-01', admin);
    expect((future.doc as unknown as { data: unknown[] }).data).to.deep.equal([]);

    await t.addUser('victor', 'victor-pass-1', []);
    const victor = await t.login('victor', 'victor-pass-1');
    const mine = await json('GET', '/api/v1/auditlog', victor);
    expect((mine.doc as unknown as { data: unknown[] }).data).to.deep.equal([]);
    const byName = await json('GET', '/api/v1/auditlog?filter[username]=wendy', victor);
    expect(byName.status).to.equal(403);
    for (const [q, re] of [
      ['filter[username]=wen*', /wildcards/],
      ['sort=timestamp', /newest first only/],
      ['filter[remote_ip]=1.2.3.4', /does not record remote_ip/],
      ['page[limit]=101', /page\[limit\] must be a whole number from 1 to 100/],
      ['filter[timestamp][gt]=soon', /ISO 8601/],
    ] as const) {
      const r = await json('GET', `/api/v1/auditlog?${q}`, admin);
      expect(r.status, q).to.equal(400);
      expect((r.doc as unknown as { errors: { detail: string }[] }).errors[0].detail).to.match(re);
    }
  });
});
