import { expect } from 'chai';
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { open, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CREDENTIALS, startServer, tempDir, type TestServer } from '../../adapters/ssh/harness.ts';

// The shipped agent: bin/rport.js runs the bundled compiled agent (dist/bundle/rport.js) under
// plain node (no TypeScript loader), so the memory measured here is what a real host sees.
const BIN = fileURLToPath(new URL('../../../bin/rport.js', import.meta.url));
const DIST_ENTRY = fileURLToPath(new URL('../../../dist/bundle/rport.js', import.meta.url));

async function spawnAgent(server: TestServer, id: string, dataDir: string): Promise<ChildProcess> {
  if (!existsSync(DIST_ENTRY))
    throw new Error(
      `${DIST_ENTRY} is missing: run \`npm run build\` first (\`npm test\` builds before testing)`,
    );
  const [credential, password] = Object.entries(CREDENTIALS)[0];
  const config = join(dataDir, 'rport.conf');
  await writeFile(
    config,
    [
      '[client]',
      `server = "127.0.0.1:${server.port}"`,
      `fingerprint = "${server.fingerprint}"`,
      `auth = "${credential}:${password}"`,
      `id = "${id}"`,
      `data_dir = "${dataDir}"`,
      '[file-reception]',
      'protected = ["/proc"]',
      '',
    ].join('\n'),
  );
  // As shipped: no NODE_OPTIONS from the test runner, and no coverage collection. c8 (`npm test`) sets
  // NODE_V8_COVERAGE, which Node passes on to children unless env names it; an empty value turns it off.
  const env = { ...process.env, NODE_V8_COVERAGE: '', NODE_OPTIONS: '' };
  const child = spawn(process.execPath, [BIN, '--config', config], {
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  return new Promise((resolve, reject) => {
    const onData = (chunk: Buffer): void => {
      output += chunk.toString();
      if (!output.includes('connected to the server')) return;
      child.stdout!.off('data', onData);
      child.stdout!.resume();
      resolve(child);
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', (c: Buffer) => (output += c.toString()));
    child.once('exit', (code, signal) =>
      reject(new Error(`rport exited (${code ?? signal}) before connecting:\n${output}`)),
    );
  });
}

const kill = (c: ChildProcess | undefined): void => {
  if (c && c.exitCode === null && c.signalCode === null && c.pid) {
    try {
      process.kill(c.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
};

/** A field of /proc/<pid>/status in bytes: VmHWM is the peak resident set, RssFile its file-backed part now. */
async function procStatus(pid: number, field: 'VmHWM' | 'RssFile' | 'RssAnon'): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const kb = new RegExp(`${field}:\\s+(\\d+) kB`).exec(status);
  if (!kb) throw new Error(`no ${field} in /proc/${pid}/status`);
  return Number(kb[1]) * 1024;
}
const peakRss = (pid: number): Promise<number> => procStatus(pid, 'VmHWM');

/** Writes size bytes of a repeating random block quickly; returns the md5. */
async function writeBig(path: string, size: number): Promise<string> {
  const block = randomBytes(1024 * 1024);
  const h = createHash('md5');
  const fh = await open(path, 'w');
  try {
    for (let written = 0; written < size; written += block.length) {
      const part = block.subarray(0, Math.min(block.length, size - written));
      h.update(part);
      await fh.write(part);
    }
  } finally {
    await fh.close();
  }
  return h.digest('hex');
}

describe('SSH link: agent in its own process', function () {
  this.timeout(180_000);
  let server: TestServer;
  let child: ChildProcess | undefined;
  let agentDir: string;
  let destDir: string;

  beforeEach(async () => {
    server = await startServer();
    agentDir = await tempDir('child-agent');
    destDir = await tempDir('dest');
  });

  afterEach(async () => {
    kill(child);
    child = undefined;
    await server.stop();
    for (const d of [server.dataDir, agentDir, destDir]) await rm(d, { recursive: true, force: true });
  });

  it('agent killed mid-transfer (kill -9): an error outcome, and no staged leftovers after the push ends', async () => {
    child = await spawnAgent(server, 'doomed', agentDir);
    const size = 256 * 1024 * 1024;
    const pushing = server.push(
      { size, write: (p: string) => writeBig(p, size) },
      ['doomed'],
      join(destDir, 'big.bin'),
    );
    // Kill once the agent's temp file has started to fill: the transfer is under way.
    for (;;) {
      const names = await readdir(join(agentDir, 'filepush')).catch(() => [] as string[]);
      const sizes = await Promise.all(
        names.map((n) =>
          stat(join(agentDir, 'filepush', n)).then(
            (s) => s.size,
            () => 0,
          ),
        ),
      );
      if (sizes.some((s) => s > 0)) break;
      await new Promise((r) => setTimeout(r, 5));
    }
    kill(child);
    const [o] = await pushing;
    expect(o.status).to.equal('error');
    expect(o.message).to.match(/doomed/);
    expect(await readdir(server.stagingDir)).to.deep.equal([]);
    await stat(join(destDir, 'big.bin')).then(
      () => expect.fail('no destination file may appear'),
      (e: NodeJS.ErrnoException) => expect(e.code).to.equal('ENOENT'),
    );
  });

  it('a 1 GiB push streams: the shipped agent (bin/rport.js) peaks under 100 MB RSS, and the push adds under 50 MB to its idle peak', async () => {
    child = await spawnAgent(server, 'bulk', agentDir);
    const idle = await peakRss(child.pid!);
    const size = 1024 * 1024 * 1024;
    const [o] = await server.push(
      { size, write: (p: string) => writeBig(p, size) },
      ['bulk'],
      join(destDir, 'gig.bin'),
    );
    expect(o.status, o.message).to.equal('success');
    expect((await stat(join(destDir, 'gig.bin'))).size).to.equal(size);
    const rss = await peakRss(child.pid!);
    const file = await procStatus(child.pid!, 'RssFile');
    const mb = (n: number): string => `${(n / 1e6).toFixed(1)} MB`;
    console.log(
      `      agent peak RSS (VmHWM): ${mb(idle)} connected and idle, ${mb(rss)} after a 1 GiB push (of which ${mb(file)} file-backed: the node binary)`,
    );
    // Issue 4: under 100 MB. Measured 88-90 MB (95-97 MB with [file-reception] hash_thread = true) (idle 63 MB, 46 MB of it node's own file pages); before the
    // fixed write buffers, lent READ buffers, scavenge pacing and the bundle: 125-131 MB (docs/benchmarks.md).
    expect(rss, 'the agent process peak RSS').to.be.below(100 * 1000 * 1000);
    expect(rss - idle, 'what the push itself added').to.be.below(50 * 1000 * 1000);
  });
});
