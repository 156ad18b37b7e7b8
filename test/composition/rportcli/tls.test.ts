import { expect } from 'chai';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TlsCertificateError } from '../../../src/adapters/rportcli-api/api-errors.ts';
import { RportApiClient } from '../../../src/adapters/rportcli-api/rport-api-client.ts';
import { explain } from '../../../src/composition/rportcli/errors.ts';
import { cli, placed, startCliServer, type CliServer } from './harness.ts';
import { haveOpenssl, selfSigned } from '../../support/self-signed.ts';

describe('rportcli against rportd over HTTPS with a self-signed certificate', function () {
  this.timeout(30000);
  let dir: string;
  let srv: CliServer | undefined;
  let files: { cert: string; key: string };
  let file: string;
  let env: Record<string, string>;

  before(async function () {
    if (!(await haveOpenssl('the rportcli TLS tests'))) return this.skip();
    dir = await mkdtemp(join(tmpdir(), 'rportcli-tls-'));
    files = await selfSigned(dir, 'server', 'IP:127.0.0.1');
    srv = await startCliServer(1024 * 1024, { cert_file: files.cert, key_file: files.key });
    await srv.connect('alpha', placed);
    file = join(dir, 'hello.txt');
    await writeFile(file, 'hello over https\n');
    env = {
      XDG_CONFIG_HOME: join(dir, 'config'),
      RPORT_API_URL: srv.url,
      RPORT_API_USER: srv.admin.username,
      RPORT_API_PASSWORD: srv.admin.password,
    };
  });
  after(async () => {
    await srv?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('without --cacert: names the certificate problem and --cacert / RPORT_API_CACERT, not "is rportd running", exit 2', async () => {
    expect(srv!.url).to.match(/^https:/);
    for (const args of [['clients'], ['upload', file, '-c', 'alpha', '-d', '/tmp/rportcli/tls.txt']]) {
      const r = await cli(args, env);
      expect(r.code, args[0]).to.equal(2);
      expect(r.stderr, args[0])
        .to.contain('DEPTH_ZERO_SELF_SIGNED_CERT')
        .and.contain('not trusted')
        .and.contain('--cacert')
        .and.contain('RPORT_API_CACERT');
      expect(r.stderr, args[0]).not.to.contain('Is rportd running');
    }
  });

  it('with --cacert: clients, an upload (HTTPS, the streamed POST and wss results) and status all work', async () => {
    const clients = await cli(['clients', '--json', '--cacert', files.cert], env);
    expect(clients.code, clients.stderr).to.equal(0);
    expect((JSON.parse(clients.stdout) as { id: string }[]).map((c) => c.id)).to.deep.equal(['alpha']);
    const up = await cli(
      ['upload', file, '-c', 'alpha', '-d', '/tmp/rportcli/tls.txt', '--json', '--cacert', files.cert],
      env,
    );
    expect(up.code, up.stderr).to.equal(0);
    const doc = JSON.parse(up.stdout) as { uuid: string; results: { status: string }[] };
    expect(doc.results.map((r) => r.status)).to.deep.equal(['success']);
    expect(up.stderr).to.equal('');
    const st = await cli(['status', doc.uuid, '--wait', '--cacert', files.cert], env);
    expect(st.code, st.stderr).to.equal(0);
    expect(st.stdout).to.contain('1 target: 1 success');
  });

  it('RPORT_API_CACERT does what --cacert does, for login too', async () => {
    const login = await cli(['login', '--user', srv!.admin.username, '--password', srv!.admin.password], {
      ...env,
      RPORT_API_USER: '',
      RPORT_API_PASSWORD: '',
      RPORT_API_CACERT: files.cert,
    });
    expect(login.code, login.stderr).to.equal(0);
    expect(login.stdout).to.contain(`logged in to ${srv!.url}`);
  });

  it('with --insecure: works without the CA, and warns on stderr', async () => {
    const r = await cli(['upload', file, '-c', 'alpha', '-d', '/tmp/rportcli/tls2.txt', '--insecure'], env);
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stdout).to.contain('1 target: 1 success');
    expect(r.stderr).to.match(/^rportcli: warning: --insecure: the server's TLS certificate is not checked/);
  });

  it('the streamed upload alone also reports a certificate error as one', async () => {
    // A token skips the login, and no results socket is opened: only the POST meets the certificate.
    const api = new RportApiClient(srv!.url, { token: 'x' });
    const e = await api.upload({ file, clientIds: ['alpha'], groupIds: [], dest: '/tmp/x' }).then(
      () => expect.fail('an untrusted certificate must not get through'),
      (err: unknown) => err,
    );
    expect(e).to.be.instanceOf(TlsCertificateError);
    expect((e as TlsCertificateError).code).to.equal('DEPTH_ZERO_SELF_SIGNED_CERT');
  });

  it('a certificate for another host: names the host mismatch and subjectAltName', async () => {
    const other = await selfSigned(dir, 'other', 'DNS:other.example');
    const wrong = await startCliServer(1024 * 1024, { cert_file: other.cert, key_file: other.key });
    try {
      const r = await cli(['clients', '--cacert', other.cert], { ...env, RPORT_API_URL: wrong.url });
      expect(r.code).to.equal(2);
      expect(r.stderr)
        .to.contain('ERR_TLS_CERT_ALTNAME_INVALID')
        .and.contain('subjectAltName')
        .and.contain('--cacert');
    } finally {
      await wrong.close();
    }
  });

  it('bad input: a --cacert that is missing or not PEM is refused naming it', async () => {
    const missing = await cli(['clients', '--cacert', join(dir, 'nope.pem')], env);
    expect(missing.code).to.equal(2);
    expect(missing.stderr).to.contain('cannot read the CA file').and.contain('(from --cacert)');
    const notPem = join(dir, 'not.pem');
    await writeFile(notPem, 'hello');
    const bad = await cli(['clients'], { ...env, RPORT_API_CACERT: notPem });
    expect(bad.code).to.equal(2);
    expect(bad.stderr).to.contain('holds no PEM certificate').and.contain('RPORT_API_CACERT');
  });
});

describe('rportcli explains certificate errors', () => {
  const ctx = { url: 'https://h:3000', urlSource: 'RPORT_API_URL', credentialSource: 'none' };

  it('an expired certificate says to renew it, and still names --cacert', () => {
    const text = explain(
      new TlsCertificateError('https://h:3000', 'CERT_HAS_EXPIRED', 'certificate has expired'),
      ctx,
    );
    expect(text).to.contain('validity dates').and.contain('renew').and.contain('--cacert');
    expect(text).not.to.contain('Is rportd running');
  });
});
