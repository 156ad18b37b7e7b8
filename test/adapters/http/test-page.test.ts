import { expect } from 'chai';
import { createHash } from 'node:crypto';
import { startTestServer, type TestServer } from './http-harness.ts';

const hashOf = (text: string): string => `'sha256-${createHash('sha256').update(text).digest('base64')}'`;

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

  it('the test page: served when enabled, with a login form, an upload form and the socket path', async () => {
    t = await startTestServer({ enableTestEndpoints: true });
    const res = await fetch(`${t.url}/api/v1/test/uploads/ui`);
    expect(res.status).to.equal(200);
    expect(res.headers.get('content-type')).to.match(/^text\/html/);
    const html = await res.text();
    expect(html)
      .to.include('id="username"')
      .and.include('id="password" type="password"')
      .and.include('>Log in<')
      .and.include('id="token"')
      .and.include('id="file" type="file"')
      .and.include('>Upload<')
      .and.include('/api/v1/ws/uploads')
      .and.include("'/api/v1/login'");
    expect(html).to.include("['bearer', token]");
    // Server data reaches the page as text only.
    expect(html).not.to.match(/innerHTML|outerHTML|insertAdjacentHTML|document\.write/);
  });

  it('the test page: its CSP allows exactly its own inline script and style, by hash, and nothing from elsewhere', async () => {
    t = await startTestServer({ enableTestEndpoints: true });
    const res = await fetch(`${t.url}/api/v1/test/uploads/ui`);
    const html = await res.text();
    const csp = res.headers.get('content-security-policy') ?? '';
    const script = html.match(/<script>([\s\S]*?)<\/script>/)![1];
    const style = html.match(/<style>([\s\S]*?)<\/style>/)![1];
    const directives = Object.fromEntries(
      csp.split(/;\s*/).map((d) => [d.split(' ')[0], d.split(' ').slice(1).join(' ')]),
    );
    expect(directives).to.deep.equal({
      'default-src': "'none'",
      'script-src': hashOf(script),
      'style-src': hashOf(style),
      'connect-src': "'self'",
      'form-action': "'none'",
      'base-uri': "'none'",
      'frame-ancestors': "'none'",
    });
    expect(html).not.to.match(/<(link|img|iframe)\b|src="http/);
  });
});
