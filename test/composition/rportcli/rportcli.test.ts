import { expect } from 'chai';
import { rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import type { WsResultBroadcaster } from '../../../src/adapters/ws/ws-result-broadcaster.ts';
import { savedLoginPath } from '../../../src/composition/rportcli/config.ts';
import { runCli } from '../../../src/composition/rportcli/program.ts';
import { T } from '../../../src/composition/rportd/container.ts';
import { cli, placed, refused, silent, startCliServer, type CliServer, adminHome } from './harness.ts';

interface UploadJson {
  uuid: string;
  filepath: string;
  size: number;
  ok: boolean;
  results: { client_id: string; status: string; message: string }[];
}

describe('rportcli against a real rportd', function () {
  this.timeout(30000);
  let srv: CliServer;
  let home: string;
  let file: string;
  let env: Record<string, string>;

  before(async () => {
    srv = await startCliServer();
    await srv.connect('alpha', placed);
    await srv.connect('beta', placed, { tags: ['web'] });
    await srv.connect('broken', refused);
    await srv.connect('mute', silent);
    ({ home, file, env } = await adminHome(srv, 'rportcli-home-', 'hello.txt', 'hello from rportcli\n'));
  });
  after(async () => {
    await srv?.close();
    await rm(home, { recursive: true, force: true });
  });

  it('login saves a token with mode 0600 that later commands use without a password', async () => {
    const login = await cli(
      ['login', '--url', srv.url, '--user', srv.admin.username, '--password', srv.admin.password],
      { XDG_CONFIG_HOME: env.XDG_CONFIG_HOME },
    );
    expect(login.code, login.stderr).to.equal(0);
    const path = savedLoginPath(env);
    expect(login.stdout).to.contain(path);
    expect((await stat(path)).mode & 0o777).to.equal(0o600);
    const clients = await cli(['clients', '--json'], { XDG_CONFIG_HOME: env.XDG_CONFIG_HOME });
    expect(clients.code, clients.stderr).to.equal(0);
    const ids = (JSON.parse(clients.stdout) as { id: string; connected: boolean }[]).map((c) => c.id).sort();
    expect(ids).to.deep.equal(['alpha', 'beta', 'broken', 'mute']);
  });

  it('bad input: a wrong password at login is refused with exit 2 and saves nothing', async () => {
    const cfg = join(home, 'other-config');
    const r = await cli(['login', '--url', srv.url, '--user', srv.admin.username, '--password', 'wrong'], {
      XDG_CONFIG_HOME: cfg,
    });
    expect(r.code).to.equal(2);
    expect(r.stderr).to.contain('HTTP 401');
    expect(await stat(savedLoginPath({ XDG_CONFIG_HOME: cfg })).catch(() => undefined)).to.equal(undefined);
  });

  it('bad input: login off a terminal without a user names --user and RPORT_API_USER', async () => {
    const r = await cli(['login', '--url', srv.url], { XDG_CONFIG_HOME: join(home, 'none') });
    expect(r.code).to.equal(2);
    expect(r.stderr).to.contain('--user').and.contain('RPORT_API_USER');
  });

  it('bad input: a --timeout that is not a positive number is refused naming --timeout', async () => {
    const r = await cli(['upload', file, '--client', 'alpha', '--dest', '/tmp/x', '--timeout', 'soon'], env);
    expect(r.code).to.equal(2);
    expect(r.stderr).to.contain('--timeout "soon"');
  });

  it('upload --json: every target succeeds, the JSON names the uuid and each client, and status agrees', async () => {
    const r = await cli(
      [
        'upload',
        file,
        '--client',
        'alpha',
        '--client',
        'beta',
        '--dest',
        '/tmp/rportcli/hello.txt',
        '--mode',
        '0644',
        '--json',
      ],
      env,
    );
    expect(r.code, r.stderr).to.equal(0);
    const doc = JSON.parse(r.stdout) as UploadJson;
    expect(doc.uuid).to.match(/^[0-9a-f-]{36}$/);
    expect(doc).to.include({ filepath: '/tmp/rportcli/hello.txt', size: 20, ok: true });
    expect(doc.results.map((x) => [x.client_id, x.status])).to.have.deep.members([
      ['alpha', 'success'],
      ['beta', 'success'],
    ]);
    const st = await cli(['status', doc.uuid, '--json'], env);
    expect(st.code, st.stderr).to.equal(0);
    const stored = JSON.parse(st.stdout) as {
      uuid: string;
      targets: { client_id: string; status: string }[];
      upload: Record<string, unknown>;
    };
    expect(stored.targets.map((t) => [t.client_id, t.status])).to.have.deep.members([
      ['alpha', 'success'],
      ['beta', 'success'],
    ]);
    expect(stored.upload).to.include({ dest: '/tmp/rportcli/hello.txt', mode: '0644' });
  });

  it('upload by client group: the group is expanded by the server and its clients answer', async () => {
    const token = await fetch(`${srv.url}/api/v1/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: srv.admin.username, password: srv.admin.password }),
    }).then(async (res) => ((await res.json()) as { data: { token: string } }).data.token);
    const created = await fetch(`${srv.url}/api/v1/client-groups`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ id: 'web', description: 'web servers', params: { tag: ['web'] } }),
    });
    expect(created.status, await created.text()).to.be.oneOf([200, 201]);
    const groups = await cli(['groups'], env);
    expect(groups.stdout).to.match(/^web\s+web servers\s+tag=web/m);
    const r = await cli(
      ['upload', file, '--group-id', 'web', '--dest', '/tmp/rportcli/g.txt', '--json'],
      env,
    );
    expect(r.code, r.stderr).to.equal(0);
    expect((JSON.parse(r.stdout) as UploadJson).results.map((x) => [x.client_id, x.status])).to.deep.equal([
      ['beta', 'success'],
    ]);
  });

  it('without --json on a pipe: one line per outcome as it arrives, then a summary', async () => {
    const r = await cli(['upload', file, '-c', 'alpha,broken', '-d', '/tmp/rportcli/lines.txt'], env);
    expect(r.code).to.equal(1);
    expect(r.stdout).to.match(/^alpha {2}success {2}changed {2}file successfully copied/m);
    expect(r.stdout).to.match(/^broken {2}error {2}failed {2}rename .*permission denied$/m);
    expect(r.stdout).to.contain('2 targets: 1 success, 1 error; 1 changed, 0 unchanged, 0 skipped, 1 failed');
    expect(r.stderr, 'no progress bar off a terminal').to.equal('');
  });

  it('a target that errors makes the exit code 1, with its message in the JSON', async () => {
    const r = await cli(
      ['upload', file, '--client', 'alpha', '--client', 'broken', '--dest', '/tmp/rportcli/e.txt', '--json'],
      env,
    );
    expect(r.code).to.equal(1);
    const doc = JSON.parse(r.stdout) as UploadJson;
    expect(doc.ok).to.equal(false);
    const broken = doc.results.find((x) => x.client_id === 'broken');
    expect(broken).to.include({ status: 'error' });
    expect(broken?.message).to.contain('permission denied');
    expect(doc.results.find((x) => x.client_id === 'alpha')).to.include({ status: 'success' });
  });

  it('a target that never answers is shown as timeout after --timeout, and the exit code is 1', async () => {
    const r = await cli(
      [
        'upload',
        file,
        '--client',
        'alpha',
        '--client',
        'mute',
        '--dest',
        '/tmp/rportcli/t.txt',
        '--timeout',
        '1',
        '--json',
      ],
      env,
    );
    expect(r.code).to.equal(1);
    const doc = JSON.parse(r.stdout) as UploadJson;
    expect(doc.results.find((x) => x.client_id === 'mute')).to.deep.include({
      status: 'timeout',
      message: 'no answer within 1s',
    });
    expect(doc.results.find((x) => x.client_id === 'alpha')).to.include({ status: 'success' });
  });

  it('when the results socket drops, the outcome still arrives by polling the stored results', async () => {
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    await srv.connect('late', async (r) => {
      await released;
      return { status: 'success', message: `file successfully copied to ${r.destination}` };
    });
    // A terminal-like stdout: the live table shows "late pending" once the CLI has read the targets and is listening.
    let shown = '';
    let sawPending!: () => void;
    const pending = new Promise<void>((resolve) => (sawPending = resolve));
    const stdout = Object.assign(new PassThrough(), { isTTY: true, columns: 120 });
    stdout.on('data', (c: Buffer) => {
      shown += c.toString();
      if (/late\s+pending/.test(shown)) sawPending();
    });
    const run = runCli(
      ['upload', file, '--client', 'late', '--dest', '/tmp/rportcli/late.txt', '--timeout', '20'],
      {
        stdout,
        stderr: new PassThrough().resume(),
        stdin: new PassThrough(),
        env,
      },
    );
    await pending;
    // Drops every results socket, as a restarting server or a proxy would; only then does the agent answer.
    srv.server.container.get<WsResultBroadcaster>(T.broadcaster).close();
    release();
    expect(await run).to.equal(0);
    expect(shown).to.match(
      /late\s+success\s+changed\s+file successfully copied to \/tmp\/rportcli\/late\.txt/,
    );
  });

  it("bad input: a missing --dest is the server's error naming dest, exit 2, nothing staged", async () => {
    // The silent client's upload is still live and legitimately staged: compare against it.
    const before = await srv.staged();
    const r = await cli(['upload', file, '--client', 'alpha'], env);
    expect(r.code).to.equal(2);
    expect(r.stderr).to.contain('HTTP 400').and.contain('dest');
    expect(await srv.staged()).to.deep.equal(before);
  });

  it('bad input: a relative --dest and a bad --mode are refused naming the field', async () => {
    const rel = await cli(['upload', file, '--client', 'alpha', '--dest', 'relative/x.txt'], env);
    expect(rel.code).to.equal(2);
    expect(rel.stderr).to.contain('dest').and.contain('relative/x.txt');
    const mode = await cli(['upload', file, '--client', 'alpha', '--dest', '/tmp/x', '--mode', '999'], env);
    expect(mode.code).to.equal(2);
    expect(mode.stderr).to.contain('mode');
  });

  it('bad input: a file over max_filepush_size is refused with 413 naming the limit, and nothing new is staged', async () => {
    const big = join(home, 'big.bin');
    await writeFile(big, Buffer.alloc(3 * 1024 * 1024, 7));
    const before = await srv.staged();
    const r = await cli(['upload', big, '--client', 'alpha', '--dest', '/tmp/big.bin'], env);
    expect(r.code).to.equal(2);
    expect(r.stderr).to.contain('HTTP 413').and.contain('max_filepush_size');
    expect(await srv.staged()).to.deep.equal(before);
  });

  it("bad input: an unknown client is the server's 404 naming client_id", async () => {
    const r = await cli(['upload', file, '--client', 'nobody', '--dest', '/tmp/x'], env);
    expect(r.code).to.equal(2);
    expect(r.stderr).to.contain('HTTP 404').and.contain('nobody');
  });

  it('bad input: a missing file is named, exit 2, and nothing reaches the server', async () => {
    const missing = join(home, 'nope.bin');
    const before = await srv.staged();
    const r = await cli(['upload', missing, '--client', 'alpha', '--dest', '/tmp/x'], env);
    expect(r.code).to.equal(2);
    expect(r.stderr).to.equal(`rportcli: ${missing}: no such file\n`);
    expect(await srv.staged()).to.deep.equal(before);
  });

  it('bad input: no credentials tells how to log in', async () => {
    const r = await cli(['clients'], { XDG_CONFIG_HOME: join(home, 'empty'), RPORT_API_URL: srv.url });
    expect(r.code).to.equal(2);
    expect(r.stderr)
      .to.contain('no credentials')
      .and.contain('rportcli login')
      .and.contain('RPORT_API_TOKEN');
  });

  it('bad input: a bad token is refused with 401 and names where the token came from', async () => {
    const r = await cli(['clients'], {
      XDG_CONFIG_HOME: join(home, 'empty'),
      RPORT_API_URL: srv.url,
      RPORT_API_TOKEN: 'not-a-jwt',
    });
    expect(r.code).to.equal(2);
    expect(r.stderr).to.contain('HTTP 401').and.contain('RPORT_API_TOKEN');
  });

  it('bad input: no server reachable names the URL and RPORT_API_URL', async () => {
    const gone = await startCliServer();
    const url = gone.url;
    await gone.close();
    const r = await cli(['clients'], { ...env, RPORT_API_URL: url });
    expect(r.code).to.equal(2);
    expect(r.stderr)
      .to.contain(`cannot reach the rport server at ${url}`)
      .and.contain('RPORT_API_URL')
      .and.contain('ECONNREFUSED');
  });

  it('status of an unknown upload is a 404 naming the uuid', async () => {
    const r = await cli(['status', '00000000-0000-0000-0000-000000000000'], env);
    expect(r.code).to.equal(2);
    expect(r.stderr).to.contain('HTTP 404').and.contain('00000000-0000-0000-0000-000000000000');
  });
});
