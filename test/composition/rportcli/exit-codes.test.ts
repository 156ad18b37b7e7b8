import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { runCli } from '../../../src/composition/rportcli/program.ts';
import {
  cli,
  placed,
  refused,
  silent,
  startCliServer,
  type Answer,
  type CliServer,
  adminHome,
} from './harness.ts';

const unchanged: Answer = async (r) => ({
  status: 'ignored',
  message: `file ${r.destination} already exists; set force or sync to replace it`,
});

interface UploadJson {
  uuid: string;
  ok: boolean;
  results: { client_id: string; status: string }[];
}

describe('rportcli exit codes, --wait, --verbose and --version', function () {
  this.timeout(30000);
  let srv: CliServer;
  let home: string;
  let file: string;
  let env: Record<string, string>;

  before(async () => {
    srv = await startCliServer();
    await srv.connect('alpha', placed);
    await srv.connect('same', unchanged);
    await srv.connect('broken', refused);
    await srv.connect('mute', silent);
    ({ home, file, env } = await adminHome(srv, 'rportcli-codes-', 'app.conf', 'setting = 1\n'));
  });
  after(async () => {
    await srv?.close();
    await rm(home, { recursive: true, force: true });
  });

  const upload = (
    clients: string,
    ...more: string[]
  ): Promise<{ code: number; stdout: string; stderr: string }> =>
    cli(['upload', file, '-c', clients, '-d', '/etc/app.conf', ...more], env);

  it('upload: an ignored push exits 0, and 1 with --fail-on-ignored (the JSON says ok: false)', async () => {
    const plain = await upload('alpha,same', '--json');
    expect(plain.code, plain.stderr).to.equal(0);
    expect((JSON.parse(plain.stdout) as UploadJson).ok).to.equal(true);
    const strict = await upload('alpha,same', '--json', '--fail-on-ignored');
    expect(strict.code, strict.stderr).to.equal(1);
    const doc = JSON.parse(strict.stdout) as UploadJson;
    expect(doc.ok).to.equal(false);
    expect(doc.results.map((r) => [r.client_id, r.status])).to.have.deep.members([
      ['alpha', 'success'],
      ['same', 'ignored'],
    ]);
    const allPlaced = await upload('alpha', '--fail-on-ignored');
    expect(allPlaced.code, allPlaced.stderr).to.equal(0);
  });

  it('status: 0 when all ended well, 1 with --fail-on-ignored on an ignored target, 1 on an error', async () => {
    const ignoredUpload = JSON.parse((await upload('alpha,same', '--json')).stdout) as UploadJson;
    expect((await cli(['status', ignoredUpload.uuid], env)).code).to.equal(0);
    expect((await cli(['status', ignoredUpload.uuid, '--fail-on-ignored'], env)).code).to.equal(1);
    const failed = JSON.parse((await upload('alpha,broken', '--json')).stdout) as UploadJson;
    expect((await cli(['status', failed.uuid], env)).code).to.equal(1);
  });

  it('bad input: status with an empty uuid (an unset shell variable) is exit 2, not the list of uploads', async () => {
    const empty = await cli(['status', ''], env);
    expect(empty.code).to.equal(2);
    expect(empty.stderr).to.contain('status needs the uuid an upload answered with');
    expect(empty.stdout).to.equal('');
  });

  it('status exits 3 while a target is pending; status --wait waits for the outcome, then exits 0', async () => {
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    await srv.connect('held', async (r) => {
      await released;
      return { status: 'success', message: `file successfully copied to ${r.destination}` };
    });
    const up = await upload('held', '--json', '--timeout', '0.3');
    expect(up.code).to.equal(1); // the upload gave up waiting: the target is still pending on the server
    const { uuid } = JSON.parse(up.stdout) as UploadJson;

    const now = await cli(['status', uuid], env);
    expect(now.code, now.stderr).to.equal(3);
    expect(now.stdout).to.match(/^held\s+pending/m);

    // --verbose says when the socket is open: only then does the agent answer.
    let err = '';
    let listening!: () => void;
    const connected = new Promise<void>((resolve) => (listening = resolve));
    const stderr = new PassThrough().on('data', (c: Buffer) => {
      err += c.toString();
      if (err.includes('results listener connected')) listening();
    });
    let out = '';
    const stdout = new PassThrough().on('data', (c: Buffer) => (out += c.toString()));
    let finished = false;
    const waiting = runCli(['status', uuid, '--wait', '--verbose'], {
      stdout,
      stderr,
      stdin: new PassThrough(),
      env,
    }).finally(() => (finished = true));
    await connected;
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(finished, 'status --wait must not end while the target is pending').to.equal(false);
    release();
    expect(await waiting).to.equal(0);
    expect(out).to.match(/^held {2}success {2}changed {2}file successfully copied/m);
    expect(out).to.contain('1 target: 1 success');
    expect((await cli(['status', uuid], env)).code).to.equal(0);
  });

  it('status --wait: a target that never answers times out with exit 1; an error exits 1 (--json has every target)', async () => {
    const up = JSON.parse((await upload('alpha,mute', '--json', '--timeout', '0.3')).stdout) as UploadJson;
    const waited = await cli(['status', up.uuid, '--wait', '--timeout', '0.5', '--json'], env);
    expect(waited.code).to.equal(1);
    const doc = JSON.parse(waited.stdout) as {
      uuid: string;
      targets: { client_id: string; status: string }[];
    };
    expect(doc.uuid).to.equal(up.uuid);
    expect(doc.targets.map((t) => [t.client_id, t.status])).to.have.deep.members([
      ['alpha', 'success'],
      ['mute', 'timeout'],
    ]);
    const failed = JSON.parse((await upload('broken', '--json')).stdout) as UploadJson;
    expect((await cli(['status', failed.uuid, '--wait'], env)).code).to.equal(1);
  });

  it("rportcli's own diagnostic lines go to stderr, and only with --verbose", async () => {
    const quiet = await upload('alpha', '--json');
    expect(quiet.code, quiet.stderr).to.equal(0);
    expect(quiet.stderr).to.equal('');
    const loud = await upload('alpha', '--json', '--verbose');
    expect(loud.code, loud.stderr).to.equal(0);
    expect(loud.stderr).to.match(
      /^rportcli: results listener connected to ws:\/\/127\.0\.0\.1:\d+\/api\/v1\/ws\/uploads$/m,
    );
    expect(loud.stderr).to.contain(`connecting to ${srv.url} (from RPORT_API_URL)`);
    expect((JSON.parse(loud.stdout) as UploadJson).ok, 'stdout stays pure JSON').to.equal(true);
  });

  it("--version prints package.json's version", async () => {
    const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as {
      version: string;
    };
    const r = await cli(['--version'], {});
    expect(r.code).to.equal(0);
    expect(r.stdout).to.equal(`${pkg.version}\n`);
  });
});

describe('rportcli login asks for what the environment lacks', function () {
  this.timeout(30000);
  let srv: CliServer;
  let home: string;

  before(async () => {
    srv = await startCliServer();
    home = await mkdtemp(join(tmpdir(), 'rportcli-login-'));
  });
  after(async () => {
    await srv?.close();
    await rm(home, { recursive: true, force: true });
  });

  it('with only RPORT_API_USER set, it prompts for the password on the terminal without echoing it, and saves a token', async () => {
    const env = {
      XDG_CONFIG_HOME: join(home, 'a'),
      RPORT_API_URL: srv.url,
      RPORT_API_USER: srv.admin.username,
    };
    const r = await cli(['login'], env, `${srv.admin.password}\n`);
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stderr).to.contain(`password for ${srv.admin.username}: `);
    expect(r.stderr + r.stdout).not.to.contain(srv.admin.password);
    expect(r.stdout).to.contain(`logged in to ${srv.url} as ${srv.admin.username}`);
    const clients = await cli(['clients'], { XDG_CONFIG_HOME: env.XDG_CONFIG_HOME });
    expect(clients.code, clients.stderr).to.equal(0);
  });

  it('a wrong password typed at the prompt is refused with 401, exit 2', async () => {
    const env = {
      XDG_CONFIG_HOME: join(home, 'b'),
      RPORT_API_URL: srv.url,
      RPORT_API_USER: srv.admin.username,
    };
    const r = await cli(['login'], env, 'not-the-password\n');
    expect(r.code).to.equal(2);
    expect(r.stderr).to.contain('HTTP 401');
  });

  it('bad input: with only RPORT_API_USER off a terminal, it names --password and RPORT_API_PASSWORD', async () => {
    const r = await cli(['login'], {
      XDG_CONFIG_HOME: join(home, 'c'),
      RPORT_API_URL: srv.url,
      RPORT_API_USER: srv.admin.username,
    });
    expect(r.code).to.equal(2);
    expect(r.stderr).to.contain('--password').and.contain('RPORT_API_PASSWORD');
  });
});
