import { expect } from 'chai';
import { execFile, execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, mkdtemp, readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { DEFAULT_HELPER } from '../../../src/adapters/sudo/sudo-privileged-files.ts';
import type { PushVerdict } from '../../../src/domain/outcome.ts';

// Paths that .ci/setup-privileged.sh installs and this test relies on.
const DATA_DIR = '/var/lib/rport-test';
const ALLOW_ROOT = '/srv/rport-test';
const SUDOERS = '/etc/sudoers.d/rport-filepush';
const HELPER_CONFIG = '/etc/rport/filepush-helper.conf';
const ENTRY = fileURLToPath(new URL('./push-as-agent.ts', import.meta.url));

function missingPrerequisite(): string | undefined {
  if (process.getuid?.() !== 0)
    return 'the test must run as root (it acts as the rport user through runuser)';
  for (const p of [
    '/usr/bin/sudo',
    '/usr/sbin/runuser',
    DEFAULT_HELPER,
    SUDOERS,
    HELPER_CONFIG,
    DATA_DIR,
    ALLOW_ROOT,
  ]) {
    if (!existsSync(p)) return `${p} is missing (run .ci/setup-privileged.sh as root)`;
  }
  try {
    execFileSync('id', ['rport'], { stdio: 'pipe' });
  } catch {
    return 'no OS user "rport" (run .ci/setup-privileged.sh as root)';
  }
  return undefined;
}

interface Run {
  status: number;
  stdout: string;
  stderr: string;
}

/** Runs argv as the unprivileged rport user. */
function asRport(argv: string[], cwd: string): Promise<Run> {
  return new Promise((done) => {
    execFile(
      'runuser',
      ['-u', 'rport', '--', ...argv],
      { cwd, env: { PATH: process.env.PATH ?? '/usr/bin:/bin', LC_ALL: 'C' } },
      (error, stdout, stderr) => {
        const status = error ? Number((error as { code?: unknown }).code ?? 1) : 0;
        done({ status, stdout: String(stdout), stderr: String(stderr) });
      },
    );
  });
}

describe('privileged placement through sudo, as the unprivileged rport user', function () {
  this.timeout(120_000);
  let work: string;
  let bundle: string;
  let uid: number;
  let dir: string;

  before(async function () {
    const missing = missingPrerequisite();
    if (missing) {
      if (process.env.CI === 'true') throw new Error(`privileged tests must run under CI: ${missing}`);
      console.warn(`SKIPPED privileged sudo tests: ${missing}`);
      this.skip();
    }
    uid = Number(execFileSync('id', ['-u', 'rport'], { encoding: 'utf8' }).trim());
    // The checkout may sit where rport cannot read: bundle the agent side into a dir it can.
    work = await mkdtemp(join(tmpdir(), 'rport-priv-'));
    await chmod(work, 0o755);
    bundle = join(work, 'push-as-agent.mjs');
    await build({
      entryPoints: [ENTRY],
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      outfile: bundle,
      logLevel: 'silent',
    });
    await chmod(bundle, 0o644);
  });

  beforeEach(async () => {
    dir = join(ALLOW_ROOT, `t-${process.pid}-${Date.now()}`);
  });

  after(async () => {
    if (work) await rm(work, { recursive: true, force: true });
    await rm(join(DATA_DIR, 'out'), { recursive: true, force: true });
    for (const d of await readdir(ALLOW_ROOT).catch(() => [])) {
      if (d.startsWith(`t-${process.pid}-`)) await rm(join(ALLOW_ROOT, d), { recursive: true, force: true });
    }
  });

  async function push(
    destination: string,
    body: string,
    fields: Record<string, unknown> = {},
  ): Promise<PushVerdict> {
    const uuid = `${Date.now()}-${Math.random().toString(16).slice(2)}`;
    const job = {
      dataDir: DATA_DIR,
      body,
      request: {
        uuid,
        sourceName: `${uuid}_rport_filepush`,
        destination,
        force: false,
        sync: false,
        ownership: {},
        ...fields,
      },
    };
    const r = await asRport([process.execPath, bundle, JSON.stringify(job)], work);
    if (r.status !== 0) throw new Error(`push child failed (${r.status}): ${r.stderr}`);
    return JSON.parse(r.stdout) as PushVerdict;
  }

  const tempFilesLeft = async () =>
    (await readdir(join(DATA_DIR, 'filepush')).catch(() => [])).filter((x) => x.endsWith('_rport_filepush'));

  it('user and group set to another account: the file ends owned by it (chown through the helper)', async () => {
    await asRport(['mkdir', '-p', join(DATA_DIR, 'out')], work);
    const dest = join(DATA_DIR, 'out', 'owned-by-nobody.txt');
    const v = await push(dest, 'for nobody', {
      ownership: { user: 'nobody', group: 'nogroup' },
      mode: 0o644,
    });
    expect(v, JSON.stringify(v)).to.deep.include({ status: 'success' });
    const s = await stat(dest);
    expect([s.uid, s.gid, s.mode & 0o7777]).to.deep.equal([65534, 65534, 0o644]);
    expect(await readFile(dest, 'utf8')).to.equal('for nobody');
    expect(await tempFilesLeft()).to.deep.equal([]);
  });

  it('a push into a root-owned directory lands through the rule, creating root-owned parents', async () => {
    const dest = join(dir, 'etc', 'app.conf');
    const v = await push(dest, 'key = value\n');
    expect(v, JSON.stringify(v)).to.deep.include({ status: 'success' });
    expect(await readFile(dest, 'utf8')).to.equal('key = value\n');
    const s = await stat(dest);
    expect([s.uid, s.mode & 0o7777]).to.deep.equal([uid, 0o764]);
    const parent = await stat(join(dir, 'etc'));
    expect([parent.uid, parent.mode & 0o7777]).to.deep.equal([0, 0o755]);
    expect(await tempFilesLeft()).to.deep.equal([]);
  });

  it('setuid through sudo is refused while the helper config says setuid = no, and nothing lands', async () => {
    const dest = join(dir, 'suid-tool');
    const v = await push(dest, '#!/bin/sh\n', { mode: 0o4755, ownership: { user: 'root' } });
    expect(v.status).to.equal('error');
    expect(v.message, v.message).to.contain('setuid');
    expect(existsSync(dest)).to.equal(false);
    expect(await tempFilesLeft()).to.deep.equal([]);
  });

  describe('abuse attempts by a compromised agent user are denied', () => {
    const temp = join(DATA_DIR, 'filepush', 'abuse_rport_filepush');
    let shadow: { uid: number; gid: number; mode: number };
    before(async () => {
      const s = await stat('/etc/shadow');
      shadow = { uid: s.uid, gid: s.gid, mode: s.mode };
    });
    beforeEach(async () => {
      await rm(temp, { force: true });
      await asRport(['sh', '-c', `mkdir -p ${DATA_DIR}/filepush && echo evil > ${temp}`], work);
    });
    afterEach(async () => {
      await rm(temp, { force: true });
      const s = await stat('/etc/shadow');
      expect({ uid: s.uid, gid: s.gid, mode: s.mode }, '/etc/shadow unchanged').to.deep.equal(shadow);
      expect(existsSync('/etc/sudoers.d/z'), 'nothing written to /etc/sudoers.d').to.equal(false);
    });

    const denied = async (argv: string[]) => {
      const r = await asRport(['sudo', '-n', ...argv], work);
      expect(r.status, `${argv.join(' ')} must be denied`).to.not.equal(0);
      return r;
    };

    it("the spec's chown wildcard trick: sudo chown root /etc/shadow <temp>", async () => {
      await denied(['/usr/bin/chown', 'rport', '/etc/shadow', temp]);
    });

    it("the spec's mv wildcard trick: sudo mv <temp> /etc/sudoers.d/z", async () => {
      await denied(['/usr/bin/mv', temp, '/etc/sudoers.d/z']);
    });

    it('helper: chown --reference=/etc/shadow, a shell substitution, or a file that is not a temp file', async () => {
      expect(
        (await denied([DEFAULT_HELPER, 'chown', '--', '--reference=/etc/shadow', temp])).stderr,
      ).to.contain('refused');
      expect((await denied([DEFAULT_HELPER, 'chown', '--', '$(id):root', temp])).stderr).to.contain(
        'refused',
      );
      expect((await denied([DEFAULT_HELPER, 'chown', '--', 'rport:rport', '/etc/shadow'])).stderr).to.contain(
        'refused',
      );
      expect(
        (
          await denied([
            DEFAULT_HELPER,
            'chown',
            '--',
            'rport:rport',
            `${DATA_DIR}/filepush/../../../etc/shadow`,
          ])
        ).stderr,
      ).to.contain('refused');
    });

    it('helper: moves outside the allow root, or climbing out of it with ..', async () => {
      expect((await denied([DEFAULT_HELPER, 'move', '--', temp, '/etc/sudoers.d/z'])).stderr).to.contain(
        'not beneath an allow root',
      );
      expect(
        (await denied([DEFAULT_HELPER, 'move', '--', temp, `${ALLOW_ROOT}/../../etc/sudoers.d/z`])).stderr,
      ).to.contain('normalised');
    });

    it('helper: a temp name that is a symlink to /etc/shadow is refused for chown, chmod and move', async () => {
      await rm(temp, { force: true });
      await asRport(['ln', '-s', '/etc/shadow', temp], work);
      expect((await denied([DEFAULT_HELPER, 'chown', '--', 'rport:rport', temp])).stderr).to.contain(
        'symbolic link',
      );
      expect((await denied([DEFAULT_HELPER, 'chmod', '--', '0644', temp])).stderr).to.contain(
        'symbolic link',
      );
      expect(
        (await denied([DEFAULT_HELPER, 'move', '--', temp, `${ALLOW_ROOT}/shadow-copy`])).stderr,
      ).to.contain('symbolic link');
      expect(existsSync(`${ALLOW_ROOT}/shadow-copy`)).to.equal(false);
    });

    it('helper: a symlinked parent inside the allow root is not followed', async () => {
      await rm(dir, { recursive: true, force: true });
      execFileSync('mkdir', ['-p', dir]);
      execFileSync('ln', ['-s', '/etc/sudoers.d', join(dir, 'hop')]);
      expect((await denied([DEFAULT_HELPER, 'move', '--', temp, join(dir, 'hop', 'z')])).stderr).to.contain(
        'symbolic link',
      );
    });
  });

  it('with the sudoers rule removed, the push is a clear error naming the missing rule', async () => {
    const aside = '/etc/rport/sudoers-rport-filepush.aside';
    await rename(SUDOERS, aside);
    try {
      const dest = join(dir, 'needs-rule.txt');
      const v = await push(dest, 'x');
      expect(v.status).to.equal('error');
      expect(v.message).to.contain(`sudo -n ${DEFAULT_HELPER} move --`);
      expect(v.message).to.contain('docs/sudoers.example');
      expect(existsSync(dest)).to.equal(false);
      expect(await tempFilesLeft()).to.deep.equal([]);
    } finally {
      await rename(aside, SUDOERS);
    }
  });
});
