import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, open, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { RportApiClient } from '../../../src/adapters/rportcli-api/rport-api-client.ts';
import type { LiveOutcome } from '../../../src/adapters/rportcli-api/api-types.ts';
import { runCli } from '../../../src/composition/rportcli/program.ts';
import { placed, startCliServer, type CliServer } from './harness.ts';

// The TypeScript entry through tsx, so the test measures the source under test, not a possibly stale dist/.
const ENTRY = fileURLToPath(new URL('../../../src/composition/rportcli/main.ts', import.meta.url));
const MiB = 1024 * 1024;

/** Peak resident set of a live process, from the kernel. */
async function vmHwmKiB(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const m = /^VmHWM:\s+(\d+) kB$/m.exec(status);
  if (!m) throw new Error(`no VmHWM in /proc/${pid}/status`);
  return Number(m[1]);
}

describe('rportcli streaming uploads', function () {
  this.timeout(60000);
  let srv: CliServer;
  let dir: string;
  let token: string;
  /** Pid of the rportcli child whose memory the holder agent samples, and what it saw. */
  let watchedPid = 0;
  let sampledKiB = 0;
  let stagedMd5 = '';
  /** Holds fetcher's verdict until release() is called. */
  let release = (): void => undefined;
  let fetcherGate: Promise<void> = Promise.resolve();

  before(async () => {
    srv = await startCliServer(128 * MiB);
    await srv.connect('alpha', placed);
    // Samples the CLI's peak RSS while the CLI is alive and waiting for this very outcome (the whole file has been sent by then).
    await srv.connect('holder', async (r) => {
      sampledKiB = watchedPid ? await vmHwmKiB(watchedPid) : 0;
      stagedMd5 = r.md5;
      return { status: 'success', message: 'sampled' };
    });
    // Reports half the file fetched, then answers once the test lets it.
    await srv.connect('fetcher', async (r, _signal, onProgress) => {
      onProgress?.({ bytes: r.size / 2 });
      await fetcherGate;
      return { status: 'success', message: `file successfully copied to ${r.destination}` };
    });
    dir = await mkdtemp(join(tmpdir(), 'rportcli-stream-'));
    token = await new RportApiClient(srv.url, undefined).login(srv.admin.username, srv.admin.password);
  });
  after(async () => {
    await srv?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('reports upload progress that climbs to the file size, and the server gets the exact bytes', async () => {
    const bytes = randomBytes(5 * MiB + 123);
    const path = join(dir, 'five.bin');
    await writeFile(path, bytes);
    const api = new RportApiClient(srv.url, { token });
    const seen: number[] = [];
    const receipt = await api.upload(
      { file: path, clientIds: ['holder'], groupIds: [], dest: '/tmp/five.bin' },
      (sent, total) => {
        expect(total).to.equal(bytes.length);
        seen.push(sent);
      },
    );
    expect(receipt.size).to.equal(bytes.length);
    expect(seen.length).to.be.greaterThan(10);
    expect(seen).to.deep.equal([...seen].sort((a, b) => a - b));
    expect(seen.at(-1)).to.equal(bytes.length);
    const st = await api.status(receipt.uuid);
    expect(st.upload.md5).to.equal(createHash('md5').update(bytes).digest('hex'));
  });

  it('the results listener opened before the upload receives the outcome of an agent that answers at once', async () => {
    const path = join(dir, 'small.txt');
    await writeFile(path, 'x');
    const api = new RportApiClient(srv.url, { username: srv.admin.username, password: srv.admin.password });
    const listener = await api.listen();
    try {
      const receipt = await api.upload({
        file: path,
        clientIds: ['alpha'],
        groupIds: [],
        dest: '/tmp/small.txt',
      });
      const outcome = await new Promise<LiveOutcome>((resolve) => listener.follow(receipt.uuid, resolve));
      expect(outcome).to.include({ client_id: 'alpha', uuid: receipt.uuid, status: 'success' });
    } finally {
      listener.close();
    }
  });

  it('a listener opened with progress gets the latest progress of each client, before its outcome; one opened without gets none', async () => {
    const path = join(dir, 'three.bin');
    await writeFile(path, randomBytes(3 * MiB));
    const api = new RportApiClient(srv.url, { token });
    const [asks, plain] = [await api.listen(true), await api.listen()];
    try {
      fetcherGate = new Promise<void>((r) => (release = r));
      const receipt = await api.upload({
        file: path,
        clientIds: ['fetcher'],
        groupIds: [],
        dest: '/tmp/three.bin',
      });
      const heard = (l: typeof asks): { order: string[]; done: Promise<void> } => {
        const order: string[] = [];
        const done = new Promise<void>((resolve) =>
          l.follow(
            receipt.uuid,
            (o) => (order.push(o.status), resolve()),
            (p) => {
              order.push(`${p.client_id} ${p.bytes}/${p.size}`);
              release();
            },
          ),
        );
        return { order, done };
      };
      const [a, p] = [heard(asks), heard(plain)];
      await a.done;
      await p.done;
      expect(a.order).to.deep.equal([`fetcher ${1.5 * MiB}/${3 * MiB}`, 'success']);
      expect(p.order).to.deep.equal(['success']);
    } finally {
      asks.close();
      plain.close();
    }
  });

  it('following an upload whose outcome came already: the callback gets it once and may unsubscribe in it', async () => {
    const path = join(dir, 'early.txt');
    await writeFile(path, 'x');
    const api = new RportApiClient(srv.url, { username: srv.admin.username, password: srv.admin.password });
    const listener = await api.listen();
    try {
      const receipt = await api.upload({
        file: path,
        clientIds: ['alpha'],
        groupIds: [],
        dest: '/tmp/early.txt',
      });
      // Wait until the outcome has reached the listener, then follow.
      await new Promise<void>((resolve) => {
        const stop = listener.follow(receipt.uuid, () => setImmediate(() => (stop(), resolve())));
      });
      const got: LiveOutcome[] = [];
      await new Promise<void>((resolve) => {
        const unfollow = listener.follow(receipt.uuid, (o) => {
          got.push(o);
          unfollow(); // before the fix: "Cannot access 'unfollow' before initialization"
          resolve();
        });
      });
      await new Promise((r) => setTimeout(r, 20));
      expect(got.map((o) => [o.client_id, o.status])).to.deep.equal([['alpha', 'success']]);
    } finally {
      listener.close();
    }
  });

  it('on a terminal: a progress bar on stderr and the results table redrawn in place on stdout', async () => {
    const path = join(dir, 'two.bin');
    await writeFile(path, randomBytes(2 * MiB));
    const tty = <T extends PassThrough>(s: T): T => Object.assign(s, { isTTY: true, columns: 100 });
    const out: string[] = [];
    const err: string[] = [];
    const stdout = tty(new PassThrough()).on('data', (c: Buffer) => out.push(c.toString()));
    const stderr = tty(new PassThrough()).on('data', (c: Buffer) => err.push(c.toString()));
    const code = await runCli(['upload', path, '-c', 'alpha', '-d', '/tmp/two.bin'], {
      stdout,
      stderr,
      stdin: new PassThrough(),
      env: { RPORT_API_URL: srv.url, RPORT_API_TOKEN: token },
    });
    expect(code).to.equal(0);
    expect(err.join('')).to.contain('upload [').and.contain('100%');
    const text = out.join('');
    expect(text).to.match(/CLIENT\s+STATUS\s+RESULT\s+MESSAGE\nalpha\s+pending\s+pending/);
    expect(text).to.contain('\x1b[2A\x1b[J'); // moved up over the header and the row, then redrew
    expect(text).to.match(/alpha\s+success\s+changed\s+file successfully copied to \/tmp\/two\.bin/);
  });

  it('on a terminal it asks for progress and shows a percentage per pending client; off a terminal, no progress at all', async () => {
    const path = join(dir, 'four.bin');
    await writeFile(path, randomBytes(4 * MiB));
    const tty = <T extends PassThrough>(s: T): T => Object.assign(s, { isTTY: true, columns: 100 });
    /** Runs the upload; fetcher answers once stdout matches until. */
    const run = async (terminal: boolean, until: RegExp): Promise<string> => {
      fetcherGate = new Promise<void>((r) => (release = r));
      let out = '';
      const stdout = new PassThrough().on('data', (c: Buffer) => (out += c.toString()));
      const running = runCli(['upload', path, '-c', 'fetcher', '-d', '/tmp/four.bin'], {
        stdout: terminal ? tty(stdout) : stdout,
        stderr: new PassThrough(),
        stdin: new PassThrough(),
        env: { RPORT_API_URL: srv.url, RPORT_API_TOKEN: token },
      });
      while (!until.test(out)) await new Promise((r) => setTimeout(r, 10));
      release();
      expect(await running).to.equal(0);
      return out;
    };
    const live = await run(true, /fetching: 50%/);
    expect(live).to.match(/fetcher\s+pending\s+pending\s+fetching: 50%/);
    expect(live).to.match(/fetcher\s+success\s+changed\s+file successfully copied to \/tmp\/four\.bin/);
    // Off a terminal the listener does not ask: the agent's progress reaches no line of output.
    const lines = await run(false, /^uploaded four\.bin/m);
    expect(lines).to.not.include('fetching');
    expect(lines).to.not.include('%');
    expect(lines).to.match(
      /^fetcher {2}success {2}changed {2}file successfully copied to \/tmp\/four\.bin$/m,
    );
  });

  it('a 64 MiB upload is streamed: the rportcli process peak RSS grows by less than 24 MiB over a 1 KiB upload', async () => {
    const small = join(dir, 'small.bin');
    await writeFile(small, randomBytes(1024));
    const big = join(dir, 'big.bin');
    const fh = await open(big, 'w');
    // Random head and tail around a sparse middle: fast to make, and a truncation would change the md5.
    await fh.write(randomBytes(MiB), 0, MiB, 0);
    await fh.write(randomBytes(MiB), 0, MiB, 63 * MiB);
    await fh.close();

    const peakOf = async (path: string): Promise<{ kib: number; doc: { size: number; ok: boolean } }> => {
      sampledKiB = 0;
      const child = spawn(
        process.execPath,
        ['--import', 'tsx', ENTRY, 'upload', path, '--client', 'holder', '--dest', '/tmp/big.bin', '--json'],
        {
          cwd: fileURLToPath(new URL('../../..', import.meta.url)),
          env: { PATH: process.env.PATH, HOME: dir, RPORT_API_URL: srv.url, RPORT_API_TOKEN: token },
          stdio: ['ignore', 'pipe', 'pipe'],
        },
      );
      watchedPid = child.pid ?? 0;
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
      child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
      const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
      watchedPid = 0;
      expect(code, stderr).to.equal(0);
      expect(sampledKiB, 'the holder agent sampled the live CLI process').to.be.greaterThan(0);
      return { kib: sampledKiB, doc: JSON.parse(stdout) as { size: number; ok: boolean } };
    };

    const base = await peakOf(small);
    const large = await peakOf(big);
    const bigMd5 = createHash('md5')
      .update(await readFile(big))
      .digest('hex');
    console.log(
      `      rportcli peak RSS (VmHWM): ${(base.kib / 1024).toFixed(1)} MiB for 1 KiB, ${(large.kib / 1024).toFixed(1)} MiB for 64 MiB`,
    );
    expect(large.doc).to.include({ size: 64 * MiB, ok: true });
    expect(stagedMd5).to.equal(bigMd5);
    expect(large.kib - base.kib).to.be.lessThan(24 * 1024);
  });
});
