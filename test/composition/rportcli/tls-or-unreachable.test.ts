import { expect } from 'chai';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runToExit, type Exited } from '../../support/exit-run.ts';
import { haveOpenssl, selfSigned } from '../../support/self-signed.ts';
import { startCliServer, type CliServer } from './harness.ts';

// The shipped command, as a process: what an admin's shell sees, exit code included.
const BIN = fileURLToPath(new URL('../../../bin/rportcli.js', import.meta.url));

/**
 * Each way of not getting an answer sends the admin somewhere else: a certificate to trust
 * (--cacert), a scheme to change (http:// or https://), or a server to start.
 */
describe('rportcli (bin/rportcli.js) tells a TLS problem apart from an unreachable server', function () {
  this.timeout(60_000);
  let dir: string;
  let plain: CliServer | undefined;
  let tls: CliServer | undefined;
  let cert: string;

  before(async function () {
    if (!(await haveOpenssl('the rportcli TLS-or-unreachable tests'))) return this.skip();
    dir = await mkdtemp(join(tmpdir(), 'rportcli-tls-or-not-'));
    const files = await selfSigned(dir, 'server', 'IP:127.0.0.1');
    cert = files.cert;
    plain = await startCliServer();
    tls = await startCliServer(1024 * 1024, { cert_file: files.cert, key_file: files.key });
  });
  after(async () => {
    await plain?.close();
    await tls?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const clients = (url: string, srv: CliServer, ...extra: string[]): Promise<Exited> =>
    runToExit([process.execPath, BIN, 'clients', ...extra], {
      env: {
        PATH: process.env.PATH,
        XDG_CONFIG_HOME: join(dir, 'config'),
        RPORT_API_URL: url,
        RPORT_API_USER: srv.admin.username,
        RPORT_API_PASSWORD: srv.admin.password,
      },
    });

  it('an untrusted certificate: names the certificate and --cacert, exit 2', async () => {
    const r = await clients(tls!.url, tls!);
    expect(r.code, r.stderr).to.equal(2);
    expect(r.stderr).to.contain('not trusted').and.contain('--cacert').and.contain('RPORT_API_CACERT');
    expect(r.stderr).not.to.contain('Is rportd running');
    const ok = await clients(tls!.url, tls!, '--cacert', cert);
    expect(ok.code, ok.stderr).to.equal(0);
  });

  it('https:// to a plain-HTTP rportd: a TLS handshake problem that says to use http://, exit 2', async () => {
    const url = plain!.url.replace(/^http:/, 'https:');
    const r = await clients(url, plain!);
    expect(r.code, r.stderr).to.equal(2);
    expect(r.stderr)
      .to.contain(`no TLS handshake with the rport server at ${url}`)
      .and.contain('use an http:// URL')
      .and.contain('[api] cert_file');
    expect(r.stderr).not.to.contain('Is rportd running').and.not.contain('not trusted');
    // OpenSSL's reason, without its routine names and source file.
    expect(r.stderr).to.contain('EPROTO (wrong version number)').and.not.contain('.c:');
  });

  it('http:// to an HTTPS rportd: says to use https:// with --cacert, exit 2', async () => {
    const url = tls!.url.replace(/^https:/, 'http:');
    const r = await clients(url, tls!);
    expect(r.code, r.stderr).to.equal(2);
    expect(r.stderr)
      .to.contain(`cannot reach the rport server at ${url}`)
      .and.contain('use an https:// URL')
      .and.contain('--cacert');
  });

  it('nothing listening: "cannot reach" and "Is rportd running?", no word of certificates, exit 2', async () => {
    const gone = await startCliServer();
    const url = gone.url;
    await gone.close();
    for (const u of [url, url.replace(/^http:/, 'https:')]) {
      const r = await clients(u, plain!);
      expect(r.code, r.stderr).to.equal(2);
      expect(r.stderr).to.contain(`cannot reach the rport server at ${u}`).and.contain('ECONNREFUSED');
      expect(r.stderr).to.contain('Is rportd running');
      expect(r.stderr).not.to.contain('certificate').and.not.contain('TLS');
    }
  });
});
