import { expect } from 'chai';
import { clientInfo, eventually, startTestServer, type TestServer } from './http-harness.ts';

interface AuditRow {
  action: string;
  username: string;
  client_id?: string;
  upload_uuid?: string;
  request: Record<string, unknown>;
}

describe('HTTP API: stored results, audit log, clients and client groups', () => {
  let t: TestServer;
  let token: string;
  const get = async <T>(path: string, tok = token): Promise<{ status: number; body: T }> => {
    const res = await fetch(`${t.url}${path}`, { headers: { authorization: `Bearer ${tok}` } });
    return { status: res.status, body: (await res.json()) as T };
  };
  const send = (method: string, path: string, body?: unknown): Promise<Response> =>
    fetch(`${t.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });

  before(async () => {
    t = await startTestServer();
    token = await t.login(t.admin.username, t.admin.password);
    await t.presence.announce(clientInfo('ok-1', { os: 'linux', tags: ['a'] }));
    await t.presence.announce(clientInfo('bad-1', { os: 'windows' }));
    await t.presence.announce(clientInfo('away-1'));
    t.agents.connect('ok-1');
    t.agents.connect('bad-1', () => ({ status: 'error', message: 'rename C:\\x: access denied' }));
  });
  after(() => t.close());

  it('results and audit entries can be queried after the fact', async () => {
    const fd = new FormData();
    fd.append('upload', new Blob(['hello']), 'hello.txt');
    for (const id of ['ok-1', 'bad-1', 'away-1']) fd.append('client_id', id);
    fd.append('dest', '/srv/hello.txt');
    fd.append('mode', '0640');
    const res = await fetch(`${t.url}/api/v1/files`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}` },
      body: fd,
    });
    const { uuid } = ((await res.json()) as { data: { uuid: string } }).data;

    type Status = {
      data: {
        uuid: string;
        dest: string;
        mode: string;
        md5: string;
        requested_by: string;
        targets: { client_id: string; status: string; message: string; size: number }[];
      };
    };
    const done = await eventually(async () => {
      const s = await get<Status>(`/api/v1/files/${uuid}`);
      return s.body.data.targets.every((x) => x.status !== 'pending') ? s : undefined;
    }, 'every outcome');
    expect(done.status).to.equal(200);
    expect(done.body.data).to.include({
      uuid,
      dest: '/srv/hello.txt',
      mode: '0640',
      requested_by: 'admin',
      md5: '5d41402abc4b2a76b9719d911017c592',
    });
    expect(done.body.data.targets.map((x) => [x.client_id, x.status])).to.deep.equal([
      ['away-1', 'error'],
      ['bad-1', 'error'],
      ['ok-1', 'success'],
    ]);
    expect(done.body.data.targets.find((x) => x.client_id === 'away-1')?.message).to.match(/not connected/);

    const audit = await get<{ data: AuditRow[]; meta: { count: number } }>(
      `/api/v1/audit-logs?filter[upload_uuid]=${uuid}`,
    );
    expect(audit.body.data.map((e) => e.action).sort()).to.deep.equal([
      'accepted',
      'error',
      'error',
      'success',
    ]);
    const byClient = await get<{ data: AuditRow[] }>(
      `/api/v1/audit-logs?filter[application]=uploads&filter[client_id]=ok-1&filter[action]=success`,
    );
    expect(byClient.body.data).to.have.length(1);
    expect(byClient.body.data[0]).to.include({ username: 'admin', upload_uuid: uuid });
  });

  it('rejected uploads are in the audit log too, and paging works', async () => {
    const fd = new FormData();
    fd.append('upload', new Blob(['x']), 'x');
    fd.append('client_id', 'ok-1');
    fd.append('dest', 'relative/path');
    await fetch(`${t.url}/api/v1/files`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}` },
      body: fd,
    });
    const rejected = await get<{ data: AuditRow[] }>('/api/v1/audit-logs?filter[action]=rejected');
    expect(rejected.body.data[0].request).to.include({ field: 'dest', reason: 'bad-destination' });
    const page1 = await get<{ data: AuditRow[]; meta: { count: number } }>(
      '/api/v1/audit-logs?page[limit]=2&page[offset]=0',
    );
    const page2 = await get<{ data: AuditRow[]; meta: { count: number } }>(
      '/api/v1/audit-logs?page[limit]=2&page[offset]=2',
    );
    expect(page1.body.meta.count).to.equal(5);
    expect(page1.body.data).to.have.length(2);
    expect(page2.body.data).to.have.length(2);
    expect(JSON.stringify(page1.body.data)).to.not.equal(JSON.stringify(page2.body.data));
    const future = await get<{ data: AuditRow[] }>('/api/v1/audit-logs?filter[since]=2999-01-01T00:00:00Z');
    expect(future.body.data).to.deep.equal([]);
  });

  it('bad audit query parameters: 400 naming the parameter', async () => {
    const bad = await get<{ errors: { detail: string }[] }>('/api/v1/audit-logs?page[limit]=abc');
    expect(bad.status).to.equal(400);
    expect(bad.body.errors[0].detail).to.match(/page\[limit\]/);
    const unknown = await get<{ errors: { detail: string }[] }>('/api/v1/audit-logs?filter[colour]=red');
    expect(unknown.body.errors[0].detail).to.match(/filter\[colour\] is not a known/);
    const time = await get<{ errors: { detail: string }[] }>('/api/v1/audit-logs?filter[since]=yesterday');
    expect(time.body.errors[0].detail).to.match(/filter\[since\] must be an ISO 8601 time/);
  });

  it('an unknown upload uuid: 404', async () => {
    expect((await get('/api/v1/files/00000000-0000-4000-8000-000000000000')).status).to.equal(404);
  });

  it('GET /api/v1/clients lists known and connected clients', async () => {
    const { body } = await get<{
      data: {
        id: string;
        connected: boolean;
        os: string;
        file_reception_enabled: boolean;
        hostname: string;
      }[];
    }>('/api/v1/clients');
    expect(body.data.map((c) => c.id)).to.deep.equal(['away-1', 'bad-1', 'ok-1']);
    expect(body.data[2]).to.include({
      connected: true,
      os: 'linux',
      hostname: 'ok-1.example',
      file_reception_enabled: true,
    });
    await t.presence.disconnected('away-1');
    const after = await get<{ data: { id: string; connected: boolean }[] }>('/api/v1/clients');
    expect(after.body.data[0]).to.include({ id: 'away-1', connected: false });
  });

  it('client groups: create, read, update, delete; bad bodies name the field', async () => {
    expect(
      (
        await send('POST', '/api/v1/client-groups', {
          id: 'linux',
          description: 'all linux',
          params: { os: ['linux*'] },
        })
      ).status,
    ).to.equal(201);
    expect(
      (await send('POST', '/api/v1/client-groups', { id: 'linux', params: { os: ['x'] } })).status,
    ).to.equal(409);
    const read = await get<{ data: { id: string; params: { os: string[] } } }>('/api/v1/client-groups/linux');
    expect(read.body.data.params.os).to.deep.equal(['linux*']);
    expect(
      (
        await send('PUT', '/api/v1/client-groups/linux', {
          id: 'linux',
          description: 'changed',
          params: { os: ['linux'], tag: ['a'] },
        })
      ).status,
    ).to.equal(200);
    const list = await get<{ data: { id: string; description: string }[] }>('/api/v1/client-groups');
    expect(list.body.data.find((g) => g.id === 'linux')?.description).to.equal('changed');
    expect((await send('DELETE', '/api/v1/client-groups/linux')).status).to.equal(204);
    expect((await get('/api/v1/client-groups/linux')).status).to.equal(404);

    const badType = await send('POST', '/api/v1/client-groups', { id: 'g1', params: { os: 'linux' } });
    expect(badType.status).to.equal(400);
    expect(((await badType.json()) as { errors: { detail: string }[] }).errors[0].detail).to.match(
      /params\.os must be array/,
    );
    const unknownField = await send('POST', '/api/v1/client-groups', { id: 'g1', params: { colour: ['x'] } });
    expect(((await unknownField.json()) as { errors: { detail: string }[] }).errors[0].detail).to.match(
      /params\.colour is not a known field/,
    );
    const badJson = await fetch(`${t.url}/api/v1/client-groups`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: '{"id":',
    });
    expect(badJson.status).to.equal(400);
    const empty = await send('POST', '/api/v1/client-groups', { id: 'g1', params: {} });
    expect(((await empty.json()) as { errors: { detail: string }[] }).errors[0].detail).to.match(
      /params: give at least one pattern/,
    );
  });

  it('an unknown endpoint answers 404 with the error document', async () => {
    const res = await get<{ errors: { code: string; detail: string }[] }>('/api/v1/nothing-here');
    expect(res.status).to.equal(404);
    expect(res.body.errors[0].detail).to.match(/no such endpoint/);
  });
});
