import { expect } from 'chai';
import { T } from '../../../src/composition/rportd/container.ts';
import { resolve } from '../../../src/composition/shared/typed-wiring.ts';
import { startTestServer, type TestServer } from './http-harness.ts';

type ErrorDoc = { errors: { code: string; title: string; detail: string }[] };

describe('HTTP API: /api/v1/clients/:id/key (the agent key a client id belongs to)', () => {
  let t: TestServer;
  let admin: string;
  let user: string;
  before(async () => {
    t = await startTestServer();
    admin = await t.login(t.admin.username, t.admin.password);
    await t.addUser('bob', 'bobs-long-password', ['operators']);
    user = await t.login('bob', 'bobs-long-password');
    // As the agents' listener does at a first hello that proved its key.
    const admitted = await resolve(t.server.container, T.identity).admit({
      clientId: 'web-1',
      key: 'a2V5LW9mLXdlYi0x',
      fingerprint: 'SHA256:web-1-key',
      proven: true,
      credentialId: 'agents',
      address: '127.0.0.1',
      online: false,
    });
    expect(admitted.admitted).to.equal(true);
  });
  after(() => t.close());

  const call = (method: string, id: string, token: string): Promise<Response> =>
    fetch(`${t.url}/api/v1/clients/${id}/key`, { method, headers: { authorization: `Bearer ${token}` } });

  it('an Administrator reads the binding', async () => {
    const res = await call('GET', 'web-1', admin);
    expect(res.status).to.equal(200);
    expect(((await res.json()) as { data: Record<string, unknown> }).data).to.deep.include({
      client_id: 'web-1',
      key: 'a2V5LW9mLXdlYi0x',
      fingerprint: 'SHA256:web-1-key',
    });
  });

  it('anyone else gets a JSON 403, and the binding stays', async () => {
    for (const method of ['GET', 'DELETE']) {
      const res = await call(method, 'web-1', user);
      expect(res.status).to.equal(403);
      expect(((await res.json()) as ErrorDoc).errors[0].detail).to.include('only Administrators');
    }
    expect((await call('GET', 'web-1', admin)).status).to.equal(200);
    expect((await fetch(`${t.url}/api/v1/clients/web-1/key`, { method: 'DELETE' })).status).to.equal(401);
  });

  it('a bad id is a JSON 400 naming it; an unbound id a JSON 404', async () => {
    const bad = await call('DELETE', 'bad%20id', admin);
    expect(bad.status).to.equal(400);
    expect(((await bad.json()) as ErrorDoc).errors[0].detail).to.match(/^id: /);
    const unbound = await call('DELETE', 'nobody', admin);
    expect(unbound.status).to.equal(404);
    expect(((await unbound.json()) as ErrorDoc).errors[0].detail).to.include(
      'client nobody is bound to no agent key',
    );
  });

  it('DELETE releases it (204), audited with the admin; a second DELETE is 404', async () => {
    expect((await call('DELETE', 'web-1', admin)).status).to.equal(204);
    expect((await call('GET', 'web-1', admin)).status).to.equal(404);
    expect((await call('DELETE', 'web-1', admin)).status).to.equal(404);
    const res = await fetch(
      `${t.url}/api/v1/audit-logs?filter[application]=clients&filter[action]=key-released`,
      {
        headers: { authorization: `Bearer ${admin}` },
      },
    );
    const entries = ((await res.json()) as { data: Record<string, unknown>[] }).data;
    expect(entries).to.have.length(1);
    expect(entries[0]).to.deep.include({ username: t.admin.username, client_id: 'web-1' });
    expect(entries[0].request).to.deep.include({ key: 'SHA256:web-1-key' });
    expect(t.logLines().some((l) => l.includes('client key released'))).to.equal(true);
  });
});
