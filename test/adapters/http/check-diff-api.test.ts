import { expect } from 'chai';
import { readdir } from 'node:fs/promises';
import type { PushRequest } from '../../../src/domain/push-request.ts';
import { clientInfo, eventually, startTestServer, type TestServer } from './http-harness.ts';

// Every answer here is checked against docs/openapi.json by the harness: the form fields, the
// upload's check and diff, and each target's diff must be documented.
describe('HTTP API: check and diff on an upload (real server and SQLite)', () => {
  let t: TestServer;
  let admin: string;
  const seen: PushRequest[] = [];
  const DIFF = '--- /srv/app.conf\n+++ /srv/app.conf (pushed)\n@@ -1,1 +1,1 @@\n-a\n+b\n';

  before(async () => {
    t = await startTestServer();
    admin = await t.login(t.admin.username, t.admin.password);
    await t.presence.announce(clientInfo('web-1'));
    t.agents.connect('web-1', (r) => {
      seen.push(r);
      return { status: 'success', message: 'check: would replace /srv/app.conf', changed: true, diff: DIFF };
    });
  });
  after(() => t?.close());

  it('check=1 and diff=true reach the agent; GET /api/v1/files/:uuid shows them and the target diff', async () => {
    const fd = new FormData();
    for (const [k, v] of [
      ['client_id', 'web-1'],
      ['dest', '/srv/app.conf'],
      ['force', '1'],
      ['check', '1'],
      ['diff', 'true'],
    ])
      fd.append(k, v);
    fd.append('upload', new Blob([Buffer.from('b\n')]), 'app.conf');
    const res = await fetch(`${t.url}/api/v1/files`, {
      method: 'POST',
      headers: { authorization: `Bearer ${admin}` },
      body: fd,
    });
    const doc = (await res.json()) as { data: { uuid: string } };
    expect(res.status, JSON.stringify(doc)).to.equal(200);
    expect(res.headers.get('x-rport-ignored-fields')).to.equal(null);
    await eventually(
      async () => ((await readdir(t.filepush)).length === 0 ? true : undefined),
      'distribution',
    );
    expect(seen[0]).to.include({ check: true, diff: true });
    const got = await fetch(`${t.url}/api/v1/files/${doc.data.uuid}`, {
      headers: { authorization: `Bearer ${admin}` },
    });
    const detail = (await got.json()) as {
      data: Record<string, unknown> & { targets: Record<string, unknown>[] };
    };
    expect(got.status).to.equal(200);
    expect(detail.data).to.include({ check: true, diff: true });
    expect(detail.data.targets[0]).to.include({ client_id: 'web-1', filepath: '', size: 0, diff: DIFF });
  });

  it('a check value outside Go booleans is 400 naming check', async () => {
    const fd = new FormData();
    for (const [k, v] of [
      ['client_id', 'web-1'],
      ['dest', '/srv/app.conf'],
      ['check', 'yes'],
    ])
      fd.append(k, v);
    fd.append('upload', new Blob([Buffer.from('x')]), 'x');
    const res = await fetch(`${t.url}/api/v1/files`, {
      method: 'POST',
      headers: { authorization: `Bearer ${admin}` },
      body: fd,
    });
    const doc = (await res.json()) as { errors: { detail: string }[] };
    expect(res.status).to.equal(400);
    expect(doc.errors[0].detail).to.match(/^check "yes" is not a boolean/);
  });
});
