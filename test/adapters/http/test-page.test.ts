import { expect } from 'chai';
import { startTestServer, type TestServer } from './http-harness.ts';

describe('GET /api/v1/test/uploads/ui (the sandbox page)', () => {
  let t: TestServer | undefined;
  afterEach(async () => {
    await t?.close();
    t = undefined;
  });

  it('the test page: 404 when disabled (the default)', async () => {
    t = await startTestServer();
    const res = await fetch(`${t.url}/api/v1/test/uploads/ui`);
    expect(res.status).to.equal(404);
    const doc = (await res.json()) as { errors: { detail: string }[] };
    expect(doc.errors[0].detail).to.match(/enable_ws_test_endpoints = true/);
  });

  it('the test page: served when enable_ws_test_endpoints = true, with a token field, Open, Close and the socket path', async () => {
    t = await startTestServer({ enableTestEndpoints: true });
    const res = await fetch(`${t.url}/api/v1/test/uploads/ui`);
    expect(res.status).to.equal(200);
    expect(res.headers.get('content-type')).to.match(/^text\/html/);
    const html = await res.text();
    expect(html)
      .to.include('id="token"')
      .and.include('>Open<')
      .and.include('>Close<')
      .and.include('/api/v1/ws/uploads');
    expect(html).to.include("['bearer', token]");
  });
});
