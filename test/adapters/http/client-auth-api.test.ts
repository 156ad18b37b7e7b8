import { expect } from 'chai';
import { T } from '../../../src/composition/rportd/container.ts';
import type { ClientCredentials } from '../../../src/ports/client-credentials.ts';
import { loadOrCreateHostKey } from '../../../src/adapters/ssh/host-key.ts';
import { freePort } from '../../../src/composition/demo/processes.ts';
import { startAgent, type TestAgent } from '../ssh/harness.ts';
import { eventually, startTestServer, type TestServer } from './http-harness.ts';

type ErrorDoc = { errors: { code: string; title: string; detail: string }[] };

describe('HTTP API: /api/v1/clients-auth (client credentials kept in the database)', () => {
  let t: TestServer;
  let admin: string;
  let credentials: ClientCredentials;
  before(async () => {
    t = await startTestServer();
    admin = await t.login(t.admin.username, t.admin.password);
    credentials = t.server.container.get<ClientCredentials>(T.credentials); // what the SSH listener checks logins against
  });
  after(() => t.close());

  const call = (method: string, path: string, token: string, body?: unknown): Promise<Response> =>
    fetch(`${t.url}/api/v1/clients-auth${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });

  it('an Administrator adds a credential: 201, listed by id (never the password), and the SSH listener login check accepts it', async () => {
    const res = await call('POST', '', admin, { id: 'web-servers', password: 'a-long-agent-password' });
    expect(res.status).to.equal(201);
    const list = (await (await call('GET', '', admin)).json()) as {
      data: { id: string }[];
      meta: { source: string };
    };
    expect(list.data).to.deep.equal([{ id: 'web-servers' }]);
    expect(list.meta.source).to.equal('database');
    expect(await credentials.verify('web-servers', 'a-long-agent-password')).to.equal(true);
    expect(await credentials.verify('web-servers', 'another-password')).to.equal(false);
  });

  it('adding an existing id: 409, and the first password still works', async () => {
    const res = await call('POST', '', admin, { id: 'web-servers', password: 'a-different-password' });
    expect(res.status).to.equal(409);
    expect(((await res.json()) as ErrorDoc).errors[0].detail).to.match(
      /id: client credential "web-servers" exists already/,
    );
    expect(await credentials.verify('web-servers', 'a-long-agent-password')).to.equal(true);
  });

  it('bad input: an id with ":" or a password under 12 characters is a 400 naming the field, and nothing is stored', async () => {
    const colon = await call('POST', '', admin, { id: 'a:b', password: 'a-long-agent-password' });
    expect(colon.status).to.equal(400);
    expect(((await colon.json()) as ErrorDoc).errors[0].detail).to.match(/id/);
    const short = await call('POST', '', admin, { id: 'short', password: 'too-short' });
    expect(short.status).to.equal(400);
    expect(((await short.json()) as ErrorDoc).errors[0].detail).to.match(/password/);
    const list = (await (await call('GET', '', admin)).json()) as { data: { id: string }[] };
    expect(list.data.map((c) => c.id)).to.deep.equal(['web-servers']);
  });

  it('a user who is not an Administrator: 403 for listing, adding and removing', async () => {
    await t.addUser('olga', 'olga-password-1', ['ops']);
    const olga = await t.login('olga', 'olga-password-1');
    for (const res of [
      await call('GET', '', olga),
      await call('POST', '', olga, { id: 'x', password: 'a-long-agent-password' }),
      await call('DELETE', '/web-servers', olga),
    ]) {
      expect(res.status).to.equal(403);
      expect(((await res.json()) as ErrorDoc).errors[0].detail).to.match(/only Administrators/);
    }
    expect(await credentials.verify('web-servers', 'a-long-agent-password')).to.equal(true);
  });

  it('DELETE removes it (204): the SSH login check refuses it from then on; a second DELETE is 404 naming the id', async () => {
    expect((await call('DELETE', '/web-servers', admin)).status).to.equal(204);
    expect(await credentials.verify('web-servers', 'a-long-agent-password')).to.equal(false);
    expect(t.clientSide.ended, 'the client side (a class) was asked to end its sessions').to.deep.equal([
      'web-servers',
    ]);
    const again = await call('DELETE', '/web-servers', admin);
    expect(again.status).to.equal(404);
    expect(((await again.json()) as ErrorDoc).errors[0].detail).to.match(
      /no client credential "web-servers"/,
    );
  });
});

describe('HTTP API: /api/v1/clients-auth when rportd.conf holds the credentials', () => {
  let t: TestServer;
  let admin: string;
  before(async () => {
    t = await startTestServer({ server: { auth: 'agents:a-long-agent-password' } });
    admin = await t.login(t.admin.username, t.admin.password);
  });
  after(() => t.close());

  it('GET says the source is rportd.conf; POST and DELETE are 409 telling to edit rportd.conf', async () => {
    const list = (await (
      await fetch(`${t.url}/api/v1/clients-auth`, { headers: { authorization: `Bearer ${admin}` } })
    ).json()) as { meta: { source: string } };
    expect(list.meta.source).to.equal('rportd.conf');
    const add = await fetch(`${t.url}/api/v1/clients-auth`, {
      method: 'POST',
      headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' },
      body: JSON.stringify({ id: 'more', password: 'a-long-agent-password' }),
    });
    const del = await fetch(`${t.url}/api/v1/clients-auth/agents`, {
      method: 'DELETE',
      headers: { authorization: `Bearer ${admin}` },
    });
    for (const res of [add, del]) {
      expect(res.status).to.equal(409);
      const e = ((await res.json()) as ErrorDoc).errors[0];
      expect(e.code).to.equal('credentials-from-config');
      expect(e.detail).to.match(/\[server\] auth or auth_file/);
    }
  });
});

describe('HTTP API: removing a client credential ends the connections of agents logged in with it', function () {
  this.timeout(30_000);
  let t: TestServer;
  let admin: string;
  let sshPort: number;
  let fingerprint: string;
  const agents: TestAgent[] = [];
  before(async () => {
    sshPort = await freePort();
    t = await startTestServer({ server: { address: `127.0.0.1:${sshPort}` }, sshAgents: true });
    admin = await t.login(t.admin.username, t.admin.password);
    fingerprint = (await loadOrCreateHostKey(t.dataDir)).fingerprint; // the key rportd made in its data_dir
    for (const id of ['web-servers', 'db-servers']) {
      const res = await fetch(`${t.url}/api/v1/clients-auth`, {
        method: 'POST',
        headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' },
        body: JSON.stringify({ id, password: `${id}-password-0123` }),
      });
      expect(res.status).to.equal(201);
    }
  });
  after(async () => {
    await Promise.all(agents.map((a) => a.stop()));
    await t.close();
  });

  it('DELETE ends the agent logged in with it (it is refused when it retries); an agent on another credential stays connected', async () => {
    const server = { port: sshPort, fingerprint };
    const web = await startAgent(server, 'web-1', {
      credentialId: 'web-servers',
      password: 'web-servers-password-0123',
      backoffMs: 50,
    });
    const db = await startAgent(server, 'db-1', {
      credentialId: 'db-servers',
      password: 'db-servers-password-0123',
      backoffMs: 50,
    });
    agents.push(web, db);
    const dropped = new Promise<void>((resolve) => web.connection.once('disconnected', () => resolve()));
    const res = await fetch(`${t.url}/api/v1/clients-auth/web-servers`, {
      method: 'DELETE',
      headers: { authorization: `Bearer ${admin}` },
    });
    expect(res.status).to.equal(204);
    await dropped;
    // Its retries fail at the login: the credential is gone.
    await eventually(
      async () => (web.failures.some((e) => /auth/i.test(e.message)) ? true : undefined),
      "the agent's retry refused at the login",
      400,
    ); // up to 10 s, as before
    expect(web.connection.connected).to.equal(false);
    expect(db.connection.connected).to.equal(true);
    expect(
      t
        .logLines()
        .filter(
          (l) =>
            l.includes('ended the connections of a removed client credential') &&
            l.includes('"connections":1') &&
            l.includes('"credential_id":"web-servers"'),
        ),
    ).to.have.length(1);
  });
});
