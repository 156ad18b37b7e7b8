import { expect } from 'chai';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const BIN = join(import.meta.dirname, '../../../bin/rportd.js');

interface Run {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  exited: Promise<number | null>;
}

function run(args: string[], cwd: string): Run {
  const child = spawn(process.execPath, [BIN, ...args], { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout!.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (err += c.toString()));
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  return { child, stdout: () => out, stderr: () => err, exited };
}

async function apiUrl(r: Run): Promise<string> {
  for (let i = 0; i < 400; i++) {
    const m = /rportd API listening on (http:\/\/[0-9.]+:\d+)/.exec(r.stdout());
    if (m) return m[1];
    if (r.child.exitCode !== null) throw new Error(`rportd exited: ${r.stderr()}`);
    await new Promise((res) => setTimeout(res, 50));
  }
  throw new Error(`rportd did not start: ${r.stderr()}`);
}

/** The first match of re in what read() returns, waiting for it: stdout and stderr are two pipes, in no order. */
async function waitForMatch(r: Run, read: () => string, re: RegExp): Promise<RegExpExecArray | null> {
  for (let i = 0; i < 100; i++) {
    const m = re.exec(read());
    if (m || r.child.exitCode !== null) return m;
    await new Promise((res) => setTimeout(res, 50));
  }
  return re.exec(read());
}

describe('rportd process (bin/rportd.js)', function () {
  this.timeout(60_000);
  let dir: string;
  const running: ChildProcess[] = [];
  before(async () => (dir = await mkdtemp(join(tmpdir(), 'rportd-proc-'))));
  afterEach(() => running.splice(0).forEach((c) => c.exitCode === null && c.kill('SIGKILL')));
  after(() => rm(dir, { recursive: true, force: true }));

  it('rportd --config rportd.conf starts, shows the first admin password once, serves the API and stops cleanly on SIGTERM', async () => {
    const conf = join(dir, 'rportd.conf');
    await writeFile(
      conf,
      '[server]\naddress = "127.0.0.1:0"\ndata_dir = "data"\n[api]\naddress = "127.0.0.1:0"\n',
    );
    const first = run(['--config', conf], dir);
    running.push(first.child);
    const url = await apiUrl(first);
    const password = (await waitForMatch(first, first.stderr, /password:\s+(\S+)/))?.[1];
    expect(password).to.be.a('string');
    expect(first.stdout()).to.not.include(password!);
    const login = await fetch(`${url}/api/v1/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'admin', password }),
    });
    expect(login.status).to.equal(200);
    first.child.kill('SIGTERM');
    expect(await first.exited).to.equal(0);
    expect(first.stdout()).to.include('rportd stopped');
    expect((await readdir(join(dir, 'data'))).sort()).to.include.members([
      'filepush',
      'jwt_secret',
      'rportd.db',
    ]);

    const second = run(['--config', conf], dir);
    running.push(second.child);
    const url2 = await apiUrl(second);
    expect(second.stderr()).to.not.match(/password/);
    const again = await fetch(`${url2}/api/v1/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'admin', password }),
    });
    expect(again.status).to.equal(200);
    second.child.kill('SIGTERM');
    expect(await second.exited).to.equal(0);
  });

  it('a bad value in rportd.conf stops the start-up with exit code 2 and an error naming the key', async () => {
    const conf = join(dir, 'bad.conf');
    await writeFile(conf, '[server]\nmax_filepush_size = "abc"\n');
    const r = run(['--config', conf], dir);
    running.push(r.child);
    expect(await r.exited).to.equal(2);
    expect(r.stderr()).to.include('[server] max_filepush_size: must be a positive integer, got "abc"');
  });
});
