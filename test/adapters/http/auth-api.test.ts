import { expect } from 'chai';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { SignJWT } from 'jose';
import { clientInfo, startTestServer, type TestServer } from './http-harness.ts';

const b64url = (o: object): string => Buffer.from(JSON.stringify(o)).toString('base64url');

describe('HTTP API: login and authorization', () => {
  let t: TestServer;
  let adminToken: string;
  before(async () => {
    t = await startTestServer();
    adminToken = await t.login(t.admin.username, t.admin.password);
    await t.presence.announce(clientInfo('web-1', { tags: ['web'] }));
    await t.presence.announce(clientInfo('db-1', { tags: ['db'] }));
    t.agents.connect('web-1');
    t.agents.connect('db-1');
  });
  after(() => t.close());

  const upload = (authorization: string | undefined, clientId = 'web-1'): Promise<Response> => {
    const fd = new FormData();
    fd.append('upload', new Blob([Buffer.alloc(50_000, 1)]), 'f.bin');
    fd.append('client_id', clientId);
    fd.append('dest', '/tmp/f.bin');
    return fetch(`${t.url}/api/v1/files`, {
      method: 'POST',
      headers: authorization ? { authorization } : {},
      body: fd,
    });
  };
  const expect401 = async (res: Response, detail: RegExp): Promise<void> => {
    const doc = (await res.json()) as { errors: { code: string; detail: string }[] };
    expect(res.status).to.equal(401);
    expect(doc.errors[0].code).to.equal('unauthorized');
    expect(doc.errors[0].detail).to.match(detail);
    expect(await readdir(t.filepush)).to.deep.equal([]);
  };

  it('POST /api/v1/login with JSON returns an HS256 JWT with an expiry', async () => {
    const [header, payload] = adminToken
      .split('.')
      .slice(0, 2)
      .map((p) => JSON.parse(Buffer.from(p, 'base64url').toString()) as Record<string, unknown>);
    expect(header.alg).to.equal('HS256');
    expect(payload.sub).to.equal('admin');
    expect(Number(payload.exp) - Number(payload.iat)).to.equal(3600);
  });

  it('login with basic auth and a token-lifetime', async () => {
    const res = await fetch(`${t.url}/api/v1/login?token-lifetime=60`, {
      method: 'POST',
      headers: { authorization: `Basic ${Buffer.from(`admin:${t.admin.password}`).toString('base64')}` },
    });
    const token = ((await res.json()) as { data: { token: string } }).data.token;
    const payload = JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString()) as {
      exp: number;
      iat: number;
    };
    expect(payload.exp - payload.iat).to.equal(60);
  });

  it('a wrong password: 401; a login body without password: 400 naming password', async () => {
    const wrong = await fetch(`${t.url}/api/v1/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'admin', password: 'nope' }),
    });
    expect(wrong.status).to.equal(401);
    const missing = await fetch(`${t.url}/api/v1/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'admin' }),
    });
    expect(missing.status).to.equal(400);
    expect(((await missing.json()) as { errors: { detail: string }[] }).errors[0].detail).to.match(
      /password is required/,
    );
  });

  it('basic auth works on API calls too', async () => {
    const res = await fetch(`${t.url}/api/v1/clients`, {
      headers: { authorization: `Basic ${Buffer.from(`admin:${t.admin.password}`).toString('base64')}` },
    });
    expect(res.status).to.equal(200);
  });

  it('no token: 401, nothing staged', async () =>
    expect401(await upload(undefined), /authorization required/));

  it('a bad token: 401, nothing staged', async () =>
    expect401(await upload('Bearer not.a.token'), /not valid/));

  it('a token signed with another secret: 401', async () => {
    const forged = await new SignJWT({})
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('admin')
      .setExpirationTime('1h')
      .sign(new TextEncoder().encode('x'.repeat(64)));
    await expect401(await upload(`Bearer ${forged}`), /not valid/);
  });

  it('an expired token: 401 saying it expired, nothing staged', async () => {
    const secret = new TextEncoder().encode((await readFile(join(t.dataDir, 'jwt_secret'), 'utf8')).trim());
    const now = Math.floor(Date.now() / 1000);
    const expired = await new SignJWT({})
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('admin')
      .setIssuedAt(now - 7200)
      .setExpirationTime(now - 3600)
      .sign(secret);
    await expect401(await upload(`Bearer ${expired}`), /expired/);
  });

  it('a JWT with alg: none: 401, nothing staged', async () => {
    const none = `${b64url({ alg: 'none', typ: 'JWT' })}.${b64url({ sub: 'admin', exp: Math.floor(Date.now() / 1000) + 3600 })}.`;
    await expect401(await upload(`Bearer ${none}`), /not valid/);
  });

  it("a user outside the client's groups: 403, nothing staged; inside them: 200", async () => {
    const g = await fetch(`${t.url}/api/v1/client-groups`, {
      method: 'POST',
      headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        id: 'web',
        description: 'web servers',
        params: { tag: ['web'] },
        allowed_user_groups: ['webops'],
      }),
    });
    expect(g.status).to.equal(201);
    await t.addUser('wendy', 'wendy-password', ['webops']);
    const wendy = await t.login('wendy', 'wendy-password');
    const denied = await upload(`Bearer ${wendy}`, 'db-1');
    const doc = (await denied.json()) as { errors: { detail: string }[] };
    expect(denied.status).to.equal(403);
    expect(doc.errors[0].detail).to.match(/client_id|db-1/);
    expect(await readdir(t.filepush)).to.deep.equal([]);
    const allowed = await upload(`Bearer ${wendy}`, 'web-1');
    expect(allowed.status).to.equal(200);
    const clients = (await (
      await fetch(`${t.url}/api/v1/clients`, { headers: { authorization: `Bearer ${wendy}` } })
    ).json()) as { data: { id: string }[] };
    expect(clients.data.map((c) => c.id)).to.deep.equal(['web-1']);
    const edit = await fetch(`${t.url}/api/v1/client-groups/web`, {
      method: 'DELETE',
      headers: { authorization: `Bearer ${wendy}` },
    });
    expect(edit.status).to.equal(403);
  });
});

describe('HTTP API: password guessing is banned per address ([api] max_failed_login, ban_time)', () => {
  let t: TestServer;
  let token = '';
  before(async () => (t = await startTestServer({ api: { max_failed_login: 3, ban_time: 600 } })));
  after(() => t.close());

  const loginAs = (password: string): Promise<Response> =>
    fetch(`${t.url}/api/v1/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: t.admin.username, password }),
    });
  const basicUpload = (password: string): Promise<Response> =>
    fetch(`${t.url}/api/v1/clients`, {
      headers: {
        authorization: `Basic ${Buffer.from(`${t.admin.username}:${password}`).toString('base64')}`,
      },
    });

  it('a success resets the count; the 3rd failure in a row (login or basic auth) bans the address: even the right password then gets 429 naming the config keys', async () => {
    expect((await loginAs('wrong-1')).status).to.equal(401);
    expect((await basicUpload('wrong-2')).status).to.equal(401);
    const ok = await loginAs(t.admin.password); // resets
    expect(ok.status).to.equal(200);
    token = ((await ok.json()) as { data: { token: string } }).data.token;
    expect((await loginAs('wrong-3')).status).to.equal(401);
    expect((await loginAs('wrong-4')).status).to.equal(401);
    expect((await basicUpload(t.admin.password)).status).to.equal(200); // resets again: 2 failures are under the limit
    for (const p of ['wrong-5', 'wrong-6', 'wrong-7']) expect((await loginAs(p)).status).to.equal(401);
    for (const res of [await loginAs(t.admin.password), await basicUpload(t.admin.password)]) {
      const doc = (await res.json()) as { errors: { code: string; title: string; detail: string }[] };
      expect(res.status).to.equal(429);
      expect(doc.errors[0]).to.include({ code: 'too-many-failed-logins', title: 'Too Many Requests' });
      expect(doc.errors[0].detail).to.match(/127\.0\.0\.1.*10 min.*max_failed_login, ban_time/);
    }
  });

  it('a token issued before the ban still works from the banned address (a token is not a guessable password)', async () => {
    expect((await loginAs(t.admin.password)).status, 'the address is still banned').to.equal(429);
    const res = await fetch(`${t.url}/api/v1/clients`, { headers: { authorization: `Bearer ${token}` } });
    expect(res.status).to.equal(200);
  });
});
