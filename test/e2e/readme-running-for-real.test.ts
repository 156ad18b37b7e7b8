import { expect } from 'chai';
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { chmod, mkdtemp, readdir, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { HostState, userExists } from './helpers/host-state.ts';
import { outputOf, scriptOf, shellBlocks, type ShellBlock } from './helpers/readme-blocks.ts';

// README.md's "Running for real", run as written, as root, on this host: real users, sudo and the
// helper, TLS with the README's certificate, curl with that CA, rportcli from PATH. Where systemd
// is needed, helpers/systemd-stand-in.sh starts each unit's ExecStart as the unit's user.
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const STAND_IN = fileURLToPath(new URL('./helpers/systemd-stand-in.sh', import.meta.url));
const INSTALL = '/opt/rport-ts';
const HOST = 'localhost';
const PORTS = [3000, 8080]; // rportd.conf in the README
const HELPER_CONFIG = '/etc/rport/filepush-helper.conf';
// What the README creates; none may exist before (the test removes them after).
const CREATED = [
  INSTALL,
  '/usr/local/bin/rportd',
  '/usr/local/bin/rport',
  '/usr/local/bin/rportcli',
  '/etc/rport/rportd.conf',
  '/etc/rport/client-auth',
  '/etc/rport/api.key',
  '/etc/rport/api.crt',
  '/etc/rport/rport.conf',
  '/etc/systemd/system/rportd.service',
  '/etc/systemd/system/rport.service',
  '/var/lib/rportd',
  '/var/lib/rport',
  '/etc/myapp',
];
// What the README replaces (CI's sudo tests installed them): kept and put back.
const REPLACED = [
  HELPER_CONFIG,
  '/usr/local/libexec/rport/rport-filepush-helper.mjs',
  '/etc/sudoers.d/rport-filepush',
];
const TOOLS = [
  'sudo',
  'visudo',
  'useradd',
  'userdel',
  'setpriv',
  'setsid',
  'script',
  'openssl',
  'curl',
  'jq',
];
const READY = { rportd: 'rportd API listening', rport: 'connected to the server' };

const portFree = (port: number) =>
  new Promise<boolean>((done) => {
    const s = createServer();
    s.once('error', () => done(false));
    s.listen(port, '0.0.0.0', () => s.close(() => done(true)));
  });

async function missingPrerequisite(): Promise<string | undefined> {
  if (process.getuid?.() !== 0)
    return 'it must run as root (it adds users and writes /etc, as the README does)';
  for (const tool of TOOLS) {
    try {
      execFileSync('bash', ['-c', `command -v ${tool}`], { stdio: 'pipe' });
    } catch {
      return `${tool} is not installed (.ci/run installs it)`;
    }
  }
  for (const p of [
    'dist/composition/rportd/main.js',
    'dist/bundle/rport.js',
    'dist/composition/rportcli/main.js',
  ])
    if (!existsSync(join(ROOT, p))) return `${p} is missing: run npm run build`;
  const unitNode = /^ExecStart=(\S+)/m.exec(
    readFileSync(join(ROOT, 'deploy/systemd/rportd.service'), 'utf8'),
  )?.[1];
  if (!unitNode || !existsSync(unitNode))
    return `the units' ExecStart runs ${unitNode}, which is not installed`;
  if (userExists('rportd')) return 'a user "rportd" exists already';
  const present = HostState.firstPresent(CREATED);
  if (present) return `${present} exists already; the test would overwrite it`;
  for (const port of PORTS)
    if (!(await portFree(port))) return `port ${port} (the README's rportd.conf) is in use`;
  return undefined;
}

const readableByOthers = (path: string): boolean => {
  try {
    execFileSync('setpriv', [
      '--reuid=nobody',
      '--regid=nogroup',
      '--clear-groups',
      '--',
      'test',
      '-r',
      path,
    ]);
    return true;
  } catch {
    return false;
  }
};

/** Runs the script as root; resolves with its exit code and output. */
function run(script: string, env: NodeJS.ProcessEnv): Promise<{ code: number; out: string; err: string }> {
  return new Promise((done) => {
    const child = spawn('bash', ['-c', script], { env, stdio: ['pipe', 'pipe', 'pipe'] });
    child.stdin.end();
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += String(d)));
    child.stderr.on('data', (d: Buffer) => (err += String(d)));
    child.on('close', (code) => done({ code: code ?? -1, out, err }));
  });
}

/** Stops a started unit by its pid (its own process group, made by setsid): SIGTERM, then SIGKILL. */
async function stopPid(pid: number): Promise<void> {
  const alive = () => {
    try {
      return !/^State:\s+Z/m.test(readFileSync(`/proc/${pid}/status`, 'utf8'));
    } catch {
      return false;
    }
  };
  try {
    process.kill(-pid, 'SIGTERM');
  } catch {
    return;
  }
  for (let i = 0; i < 100 && alive(); i++) await new Promise((r) => setTimeout(r, 100));
  if (alive()) process.kill(-pid, 'SIGKILL');
}

describe('README "Running for real", run as written (as root, with the real users, sudo, TLS)', function () {
  this.timeout(300_000);
  const host = new HostState();
  let work: string;
  let run_: string;
  let result: { code: number; out: string; err: string };
  let env: NodeJS.ProcessEnv;
  let blocks: ShellBlock[];

  before(async function () {
    const missing = await missingPrerequisite();
    if (missing) {
      if (process.env.CI === 'true') throw new Error(`the README test must run under CI: ${missing}`);
      console.warn(`SKIPPED README "Running for real" test: ${missing}`);
      this.skip();
    }
    blocks = shellBlocks(await readFile(join(ROOT, 'README.md'), 'utf8'), 'Running for real');
    work = await mkdtemp(join(tmpdir(), 'rport-readme-'));
    run_ = join(work, 'run');
    await chmod(work, 0o755);
    await host.keep(REPLACED);
    host.willCreate(...CREATED);
    host.willCreateUsers(['rportd', 'rport']);
    for (const d of ['/etc/rport', '/usr/local/libexec/rport', '/etc/systemd/system'])
      await host.ensureDir(d);
    await host.ensureDir(run_);
    await host.ensureDir(join(work, 'home'));
    // The README's first install block (copy a checkout to /opt/rport-ts, npm ci) is what CI did
    // here: link /opt/rport-ts to this built checkout, or copy it where the units' users cannot read it.
    await symlink(ROOT.replace(/\/$/, ''), INSTALL);
    if (!readableByOthers(`${INSTALL}/dist/bundle/rport.js`)) {
      await rm(INSTALL);
      execFileSync('mkdir', ['-m', '0755', INSTALL]);
      for (const entry of await readdir(ROOT))
        if (entry !== '.git') execFileSync('cp', ['-a', join(ROOT, entry), INSTALL]);
      if (!readableByOthers(`${INSTALL}/dist/bundle/rport.js`))
        throw new Error(
          `${INSTALL}, copied from ${ROOT}, is not readable by other users; the units run as rportd and rport`,
        );
    }
    env = {
      PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
      HOME: join(work, 'home'),
      SHELL: '/bin/bash',
      LANG: 'C.UTF-8',
      RPORT_HOST: HOST,
      RT_RUN: run_,
      RT_READY_rportd: READY.rportd,
      RT_READY_rport: READY.rport,
    };
    const script = `set -euo pipefail\nsource ${STAND_IN}\ncd ${INSTALL}\n${scriptOf(blocks)}`;
    await writeFile(join(work, 'readme.sh'), script);
    result = await run(script, env);
  });

  after(async () => {
    for (const f of await readdir(run_ ?? '/nonexistent').catch(() => [] as string[]))
      if (f.endsWith('.pid')) await stopPid(Number(await readFile(join(run_, f), 'utf8')));
    const problems = await host.restore();
    if (work) await rm(work, { recursive: true, force: true });
    expect(problems, 'the host is put back as it was').to.deep.equal([]);
  });

  const log = (unit: string) => readFileSync(join(run_, `${unit}.log`), 'utf8');
  const uidOf = (user: string) => Number(execFileSync('id', ['-u', user], { encoding: 'utf8' }));
  const gidOf = (user: string) => Number(execFileSync('id', ['-g', user], { encoding: 'utf8' }));
  const pidUid = (unit: string) => {
    const pid = readFileSync(join(run_, `${unit}.pid`), 'utf8').trim();
    return Number(/^Uid:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]);
  };

  it('every block runs to the end (exit 0)', () => {
    const tail = (s: string) => s.split('\n').slice(-40).join('\n');
    expect(result.code, `stderr:\n${tail(result.err)}\nstdout:\n${tail(result.out)}`).to.equal(0);
  });

  it("its journalctl | grep shows rportd's fingerprint and the generated admin password", () => {
    const password = /with password:\n\n\s+(\S+)/.exec(log('rportd'))?.[1];
    const fingerprint = /SHA256:[A-Za-z0-9+/]+/.exec(log('rportd'))?.[0];
    expect(password, 'rportd printed a password').to.be.a('string');
    const shown = blocks.find((b) => !b.skip && b.code.includes('journalctl'));
    expect(shown, 'a block that shows the journal').to.not.equal(undefined);
    expect(outputOf(result.out, shown!)).to.contain(password).and.to.contain(fingerprint);
  });

  it('the units run as their own users, with separate state directories', async () => {
    expect(pidUid('rportd')).to.equal(uidOf('rportd'));
    expect(pidUid('rport')).to.equal(uidOf('rport'));
    const server = await stat('/var/lib/rportd');
    expect([server.uid, server.mode & 0o777]).to.deep.equal([uidOf('rportd'), 0o700]);
    expect(existsSync('/var/lib/rportd/rportd.db')).to.equal(true);
    expect((await stat('/var/lib/rport')).uid).to.equal(uidOf('rport'));
    expect(existsSync('/var/lib/rport/rportd.db')).to.equal(false);
  });

  it('the certificate names the host in subjectAltName, and only root and rportd can read its key', async () => {
    const san = execFileSync(
      'openssl',
      ['x509', '-noout', '-ext', 'subjectAltName', '-in', '/etc/rport/api.crt'],
      {
        encoding: 'utf8',
      },
    );
    expect(san).to.contain(`DNS:${HOST}`).and.to.contain('IP Address:127.0.0.1');
    const key = await stat('/etc/rport/api.key');
    expect([key.uid, key.gid, key.mode & 0o777]).to.deep.equal([0, gidOf('rportd'), 0o640]);
  });

  it("the last push placed the file through the helper, with rportcli's owner and mode", async () => {
    expect(await readFile('/etc/myapp/app.conf', 'utf8')).to.equal('greeting = "hello again"\n');
    const s = await stat('/etc/myapp/app.conf');
    expect([s.uid, s.gid, s.mode & 0o7777]).to.deep.equal([0, 0, 0o644]);
    expect(await readdir('/var/lib/rport/filepush')).to.deep.equal([]);
  });

  it("a destination outside the helper's allow list is an error naming its config", async () => {
    await writeFile(join(work, 'home', 'other.conf'), 'x\n');
    const r = await run(
      'rportcli upload ~/other.conf --client web-1 --dest /etc/not-allowed/other.conf --user root --group root',
      { ...env, RPORT_API_URL: `https://${HOST}:3000`, RPORT_API_CACERT: '/etc/rport/api.crt' },
    );
    expect(r.code, r.err).to.equal(1);
    expect(r.out + r.err).to.contain(HELPER_CONFIG);
    expect(existsSync('/etc/not-allowed')).to.equal(false);
  });
});
