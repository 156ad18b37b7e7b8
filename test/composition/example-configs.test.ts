import { expect } from 'chai';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const EXAMPLES = join(ROOT, 'docs/examples');

interface Proc {
  child: ChildProcess;
  output: () => string;
}

function start(bin: string, conf: string, cwd: string): Proc {
  const child = spawn(process.execPath, [join(ROOT, 'bin', bin), '--config', conf], {
    cwd,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (out += c.toString()));
  return { child, output: () => out };
}

async function waitFor(p: Proc, pattern: RegExp, what: string): Promise<RegExpExecArray> {
  for (let i = 0; i < 300; i++) {
    const m = pattern.exec(p.output());
    if (m) return m;
    if (p.child.exitCode !== null)
      throw new Error(`${what}: the process exited (${p.child.exitCode}):\n${p.output()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`${what}: not seen in time:\n${p.output()}`);
}

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const { port } = s.address() as AddressInfo;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

/** Replaces the value of `key = …` in [section] of a TOML text, failing if the example has no such line. */
function setKey(text: string, section: string, key: string, value: string): string {
  const start = text.indexOf(`[${section}]`);
  const line = new RegExp(`^${key} = .*$`, 'm');
  const m = start < 0 ? null : line.exec(text.slice(start));
  if (!m) throw new Error(`the example has no "${key} = …" line in [${section}]`);
  const at = start + m.index;
  return text.slice(0, at) + `${key} = ${JSON.stringify(value)}` + text.slice(at + m[0].length);
}

describe('docs/examples: rportd.conf and rport.conf, run by bin/rportd.js and bin/rport.js', function () {
  this.timeout(30_000);
  let dir: string;
  const procs: Proc[] = [];

  before(function () {
    if (!existsSync(join(ROOT, 'dist/composition/rportd/main.js')))
      throw new Error('dist/ is missing: run `npm run build` first (`npm test` builds before testing)');
  });

  afterEach(async () => {
    for (const p of procs.splice(0)) {
      if (p.child.exitCode === null && p.child.signalCode === null && p.child.pid)
        process.kill(p.child.pid, 'SIGKILL');
    }
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('an agent started with the example rport.conf is listed as connected by GET /api/v1/clients of the example rportd', async () => {
    dir = await mkdtemp(join(tmpdir(), 'rport-examples-'));
    const [sshPort, apiPort] = [await freePort(), await freePort()];
    let server = await readFile(join(EXAMPLES, 'rportd.conf'), 'utf8');
    server = setKey(
      setKey(server, 'server', 'address', `127.0.0.1:${sshPort}`),
      'api',
      'address',
      `127.0.0.1:${apiPort}`,
    );
    await writeFile(join(dir, 'rportd.conf'), server);

    const rportd = start('rportd.js', join(dir, 'rportd.conf'), ROOT);
    procs.push(rportd);
    const fingerprint = (
      await waitFor(rportd, /host key fingerprint (SHA256:[A-Za-z0-9+/]{43})/, 'rportd fingerprint')
    )[1];
    await waitFor(rportd, /API listening/, 'rportd API');

    let agent = await readFile(join(EXAMPLES, 'rport.conf'), 'utf8');
    agent = setKey(
      setKey(agent, 'client', 'server', `127.0.0.1:${sshPort}`),
      'client',
      'fingerprint',
      fingerprint,
    );
    await writeFile(join(dir, 'rport.conf'), agent);
    const rport = start('rport.js', join(dir, 'rport.conf'), ROOT);
    procs.push(rport);
    await waitFor(rport, /connected to the server/, 'rport connecting');

    const admin = /^auth = "(admin):([^"]+)"$/m.exec(server);
    expect(admin, 'the example [api] auth').to.not.equal(null);
    const basic = `Basic ${Buffer.from(`${admin![1]}:${admin![2]}`).toString('base64')}`;
    const res = await fetch(`http://127.0.0.1:${apiPort}/api/v1/clients`, {
      headers: { authorization: basic },
    });
    expect(res.status).to.equal(200);
    const { data } = (await res.json()) as {
      data: { id: string; name: string; connected: boolean; tags: string[] }[];
    };
    expect(data.map((c) => ({ id: c.id, name: c.name, connected: c.connected, tags: c.tags }))).to.deep.equal(
      [{ id: 'example-client', name: 'Example client', connected: true, tags: ['example'] }],
    );
    // Relative data dirs are taken from each config file's directory, not from the working directory.
    expect(existsSync(join(dir, 'rportd-data', 'rportd.db'))).to.equal(true);
    expect(existsSync(join(dir, 'rport-data', 'filepush'))).to.equal(true);
  });
});
