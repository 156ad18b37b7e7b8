import { expect } from 'chai';
import { eventually } from '../../e2e/helpers/eventually.ts';
import { clientInfo, startTestServer, type TestServer } from './http-harness.ts';

interface ErrorDoc {
  errors: { code: string; title: string; detail: string }[];
}
interface Target {
  client_id: string;
  status: string;
  message: string;
  attempt: number;
}

describe('HTTP API: offline_ttl and POST /api/v1/files/:uuid/retry (real server, real SQLite)', () => {
  let t: TestServer;
  let admin: string;
  const call = (method: string, path: string, token: string, body?: FormData): Promise<Response> =>
    fetch(`${t.url}${path}`, { method, headers: { authorization: `Bearer ${token}` }, body });
  const upload = async (fields: [string, string][]): Promise<string> => {
    const fd = new FormData();
    fd.append('upload', new Blob([new Uint8Array(Buffer.from('listen 443;\n'))]), 'site.conf');
    for (const [k, v] of fields) fd.append(k, v);
    const res = await call('POST', '/api/v1/files', admin, fd);
    const doc = (await res.json()) as { data: { uuid: string } };
    expect(res.status, JSON.stringify(doc)).to.equal(200);
    return doc.data.uuid;
  };
  const targets = async (uuid: string): Promise<Target[]> =>
    ((await (await call('GET', `/api/v1/files/${uuid}`, admin)).json()) as { data: { targets: Target[] } })
      .data.targets;

  beforeEach(async () => {
    t = await startTestServer({ server: { keep_staged_for: 3600 } });
    admin = await t.login(t.admin.username, t.admin.password);
    for (const id of ['web-1', 'web-2']) await t.presence.announce(clientInfo(id));
  });
  afterEach(async () => t.close());

  it('offline_ttl: the offline target is pending and queued, and served when its client announces itself again', async () => {
    t.agents.connect('web-1');
    const uuid = await upload([
      ['client_id', 'web-1'],
      ['client_id', 'web-2'],
      ['dest', '/etc/nginx/site.conf'],
      ['offline_ttl', '600'],
    ]);
    await eventually(async () => {
      const [w1, w2] = await targets(uuid);
      expect([w1.status, w2.status]).to.deep.equal(['success', 'pending']);
      expect(w2.message).to.match(/^queued: client web-2 is not connected/);
    });
    t.agents.connect('web-2');
    await t.presence.announce(clientInfo('web-2'));
    await eventually(async () => {
      expect((await targets(uuid)).map((x) => [x.client_id, x.status, x.attempt])).to.deep.equal([
        ['web-1', 'success', 1],
        ['web-2', 'success', 1],
      ]);
    });
  });

  it('a bad offline_ttl is refused naming the field', async () => {
    const fd = new FormData();
    fd.append('client_id', 'web-1');
    fd.append('dest', '/etc/x');
    fd.append('offline_ttl', '-5');
    fd.append('upload', new Blob([new Uint8Array(Buffer.from('x'))]), 'x');
    const res = await call('POST', '/api/v1/files', admin, fd);
    const doc = (await res.json()) as ErrorDoc;
    expect(res.status).to.equal(400);
    expect(doc.errors[0].detail).to.contain('offline_ttl "-5" is not a whole number of seconds');
  });

  it('retry: 200 with the retried targets, which then succeed at attempt 2', async () => {
    const uuid = await upload([
      ['client_id', 'web-2'],
      ['dest', '/etc/nginx/site.conf'],
    ]);
    await eventually(async () => void expect((await targets(uuid))[0].status).to.equal('error'));
    t.agents.connect('web-2');
    const res = await call('POST', `/api/v1/files/${uuid}/retry`, admin);
    expect(res.status).to.equal(200);
    expect(await res.json()).to.deep.equal({ data: { uuid, targets: ['web-2'] } });
    await eventually(
      async () =>
        void expect((await targets(uuid)).map((x) => [x.status, x.attempt])).to.deep.equal([['success', 2]]),
    );
  });

  it("retry: 404 for an unknown upload, 403 for another user's, 409 when nothing failed; JSON errors", async () => {
    const unknown = await call('POST', '/api/v1/files/00000000-0000-4000-8000-000000000000/retry', admin);
    expect(unknown.status).to.equal(404);
    expect(((await unknown.json()) as ErrorDoc).errors[0].code).to.equal('not-found');

    t.agents.connect('web-1');
    const uuid = await upload([
      ['client_id', 'web-1'],
      ['dest', '/etc/nginx/site.conf'],
    ]);
    await eventually(async () => void expect((await targets(uuid))[0].status).to.equal('success'));
    await t.addUser('bob', 'bob-password-123', ['ops']);
    const bob = await t.login('bob', 'bob-password-123');
    const other = await call('POST', `/api/v1/files/${uuid}/retry`, bob);
    expect(other.status).to.equal(403);
    expect(((await other.json()) as ErrorDoc).errors[0].detail).to.contain('belongs to another user');

    const nothing = await call('POST', `/api/v1/files/${uuid}/retry`, admin);
    expect(nothing.status).to.equal(409);
    expect(((await nothing.json()) as ErrorDoc).errors[0]).to.include({
      code: 'nothing-failed',
      title: 'Conflict',
    });
  });
});
