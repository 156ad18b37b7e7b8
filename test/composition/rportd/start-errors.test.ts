import { expect } from 'chai';
import { createServer, type Server } from 'node:net';
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cannotRunAsRport, runToExit, type Exited } from '../../support/exit-run.ts';

// The shipped launcher, run as a process: the exit code and stderr are what a service manager sees.
const BIN = fileURLToPath(new URL('../../../bin/rportd.js', import.meta.url));

/** A port some other program holds, until the returned server is closed. */
async function busyPort(): Promise<{ port: number; holder: Server }> {
  const holder = createServer();
  await new Promise<void>((r) => holder.listen(0, '127.0.0.1', r));
  return { port: (holder.address() as { port: number }).port, holder };
}

/** Exit 2, one line on stderr that starts with the config file and holds every part. */
function expectStartError(r: Exited, conf: string, ...parts: string[]): void {
  expect(r.code, r.stderr).to.equal(2);
  const line = r.stderr.trim();
  expect(line.split('\n'), 'one line').to.have.length(1);
  expect(line).to.match(new RegExp(`^rportd: ${conf.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}: `));
  for (const part of parts) expect(line).to.contain(part);
  expect(line).not.to.match(/\n\s+at /);
}

describe('rportd start errors (bin/rportd.js): each names the key and file to fix, and exits 2', function () {
  this.timeout(60_000);
  let dir: string;
  let n = 0;
  before(async () => (dir = await mkdtemp(join(tmpdir(), 'rportd-start-errors-'))));
  after(() => rm(dir, { recursive: true, force: true }));

  /** Writes rportd.conf with free addresses and its own data_dir, plus `extra` lines per section. */
  async function conf(server: string[] = [], api: string[] = []): Promise<string> {
    const path = join(dir, `rportd-${++n}.conf`);
    await writeFile(
      path,
      [
        '[server]',
        ...(server.some((l) => l.startsWith('address')) ? [] : ['address = "127.0.0.1:0"']),
        ...(server.some((l) => l.startsWith('data_dir')) ? [] : [`data_dir = "data-${n}"`]),
        ...server,
        '[api]',
        ...(api.some((l) => l.startsWith('address')) ? [] : ['address = "127.0.0.1:0"']),
        ...api,
        '',
      ].join('\n'),
    );
    return path;
  }
  const rportd = (path: string): Promise<Exited> =>
    runToExit([process.execPath, BIN, '--config', path], { cwd: dir });

  it('[api] address in use: names [api] address and the address, says what to do', async () => {
    const { port, holder } = await busyPort();
    try {
      const path = await conf([], [`address = "127.0.0.1:${port}"`]);
      const r = await rportd(path);
      expectStartError(
        r,
        path,
        `[api] address "127.0.0.1:${port}": cannot listen`,
        'EADDRINUSE',
        'choose another port',
      );
    } finally {
      holder.close();
    }
  });

  it('[server] address (the SSH listener) in use: names [server] address, not [api]', async () => {
    const { port, holder } = await busyPort();
    try {
      const path = await conf([`address = "127.0.0.1:${port}"`]);
      const r = await rportd(path);
      expectStartError(r, path, `[server] address "127.0.0.1:${port}": cannot listen`, 'EADDRINUSE');
      expect(r.stderr).not.to.contain('[api]');
    } finally {
      holder.close();
    }
  });

  it('a missing [server] auth_file names auth_file and its path, not the TLS keys', async () => {
    const path = await conf(['auth_file = "no-such-auth-file"']);
    const r = await rportd(path);
    expectStartError(r, path, '[server] auth_file', join(dir, 'no-such-auth-file'), 'ENOENT');
    expect(r.stderr).not.to.contain('cert_file');
  });

  it('a data_dir that cannot be created names [server] data_dir, the path and the reason', async () => {
    await writeFile(join(dir, 'a-file'), 'x');
    const path = await conf(['data_dir = "a-file/data"']);
    const r = await rportd(path);
    expectStartError(
      r,
      path,
      `[server] data_dir "${join(dir, 'a-file', 'data')}": cannot create it`,
      'ENOTDIR',
    );
  });

  it('a data_dir rportd may not write in (run as the rport user) names [server] data_dir', async function () {
    const why = await cannotRunAsRport([BIN]);
    if (why) {
      console.warn(`      SKIPPED the unprivileged data_dir case: ${why}`);
      return this.skip();
    }
    const locked = join(dir, 'locked');
    await mkdir(locked, { mode: 0o755 });
    await chmod(locked, 0o755);
    await chmod(dir, 0o755);
    const path = await conf([`data_dir = "${locked}"`]);
    await chmod(path, 0o644);
    const r = await runToExit(['runuser', '-u', 'rport', '--', process.execPath, BIN, '--config', path], {
      cwd: '/',
    });
    expectStartError(r, path, `[server] data_dir "${locked}"`, 'cannot write in it', 'EACCES');
  });

  it('a database file that is not SQLite names data_dir and rportd.db', async () => {
    const data = join(dir, 'corrupt');
    await mkdir(data);
    await writeFile(join(data, 'rportd.db'), Buffer.alloc(8192, 7));
    const path = await conf([`data_dir = "${data}"`]);
    const r = await rportd(path);
    expectStartError(r, path, `[server] data_dir "${data}"`, join(data, 'rportd.db'));
  });

  it('a host key that cannot be read names data_dir and the key file', async () => {
    const data = join(dir, 'badkey');
    await mkdir(data);
    await writeFile(join(data, 'rportd_host_key'), 'not a key\n');
    const path = await conf([`data_dir = "${data}"`]);
    const r = await rportd(path);
    expectStartError(r, path, `[server] data_dir "${data}"`, join(data, 'rportd_host_key'));
  });

  it('a JWT secret that cannot be read names data_dir, the file and [api] jwt_secret', async () => {
    const data = join(dir, 'jwtdir');
    await mkdir(join(data, 'jwt_secret'), { recursive: true });
    const path = await conf([`data_dir = "${data}"`]);
    const r = await rportd(path);
    expectStartError(r, path, `[server] data_dir "${data}"`, join(data, 'jwt_secret'), '[api] jwt_secret');
  });

  it('an unreadable [api] cert_file names the key and path', async () => {
    const path = await conf([], ['cert_file = "no-cert.pem"', 'key_file = "no-key.pem"']);
    const r = await rportd(path);
    expectStartError(r, path, '[api] cert_file', join(dir, 'no-cert.pem'), 'ENOENT');
  });

  it('a NATS it cannot reach names [cluster] nats_url, with the password masked', async () => {
    const { port, holder } = await busyPort();
    await new Promise((r) => holder.close(r)); // closed again: a connect is refused
    const url = `nats://rport:nats-secret-1@127.0.0.1:${port}`;
    const path = await conf([], ['[cluster]', 'node_id = "start-errors"', `nats_url = "${url}"`]);
    const r = await rportd(path);
    expectStartError(r, path, '[cluster] nats_url: cannot use NATS', `nats://rport:***@127.0.0.1:${port}`);
    expect(r.stderr).not.to.contain('nats-secret-1');
  });

  it('config file errors: missing, not TOML, an unknown key: exit 2 naming the file (and key)', async () => {
    const missing = join(dir, 'missing.conf');
    expectStartError(await rportd(missing), missing, 'cannot read the configuration file', 'ENOENT');
    const bad = join(dir, 'bad.conf');
    await writeFile(bad, '[server\n');
    expectStartError(await rportd(bad), bad, 'not valid TOML');
    const unknown = await conf(['adress = "127.0.0.1:0"']);
    expectStartError(await rportd(unknown), unknown, '[server] adress: unknown key');
  });

  it('an unknown command-line option exits 2; --version exits 0', async () => {
    const r = await runToExit([process.execPath, BIN, '--no-such-option']);
    expect(r.code).to.equal(2);
    expect(r.stderr).to.contain("unknown option '--no-such-option'");
    const v = await runToExit([process.execPath, BIN, '--version']);
    expect(v.code).to.equal(0);
    expect(v.stdout.trim()).to.match(/^\d+\.\d+\.\d+/);
  });
});
