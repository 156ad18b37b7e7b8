import { expect } from 'chai';
import { hostname } from 'node:os';
import { startTestServer, type TestServer } from './http-harness.ts';

describe('GET /api/v1/health and /health (SQLite)', () => {
  let t: TestServer | undefined;
  afterEach(async () => {
    await t?.close();
    t = undefined;
  });

  it('answers 200 without auth: status ok, the SQLite database ok, the node id', async () => {
    t = await startTestServer();
    for (const path of ['/api/v1/health', '/health']) {
      const res = await fetch(`${t.url}${path}`);
      expect(res.status, path).to.equal(200);
      expect(res.headers.get('cache-control'), path).to.equal('no-store');
      expect(await res.json(), path).to.deep.equal({
        data: { status: 'ok', database: { kind: 'sqlite', ok: true }, node_id: hostname() },
      });
    }
  });

  it('is read only: a POST is 405', async () => {
    t = await startTestServer();
    const res = await fetch(`${t.url}/api/v1/health`, { method: 'POST' });
    expect(res.status).to.equal(405);
  });
});
