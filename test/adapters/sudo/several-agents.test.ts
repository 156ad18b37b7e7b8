import { expect } from 'chai';
import { execFile, execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { DEFAULT_HELPER } from '../../../src/adapters/sudo/sudo-privileged-files.ts';
import type { PushVerdict } from '../../../src/domain/outcome.ts';

// Two agents on one host, as .ci/setup-privileged.sh installs them: both data_dirs listed in the
// helper's config, both owned by the rport user.
const DATA_DIRS = ['/var/lib/rport-test', '/var/lib/rport-test-b'];
const ALLOW_ROOT = '/srv/rport-test';
const HELPER_CONFIG = '/etc/rport/filepush-helper.conf';
const ENTRY = fileURLToPath(new URL('./push-as-agent.ts', import.meta.url));

function missingPrerequisite(): string | undefined {
  if (process.getuid?.() !== 0)
    return 'the test must run as root (it acts as the rport user through runuser)';
  for (const p of [
    '/usr/bin/sudo',
    '/usr/sbin/runuser',
    DEFAULT_HELPER,
    HELPER_CONFIG,
    ALLOW_ROOT,
    ...DATA_DIRS,
  ])
    if (!existsSync(p)) return `${p} is missing (run .ci/setup-privileged.sh as root)`;
  return undefined;
}

function asRport(argv: string[], cwd: string): Promise<{ status: number; stdout: string; stderr: string }> {
  return new Promise((done) => {
    execFile(
      'runuser',
      ['-u', 'rport', '--', ...argv],
      { cwd, env: { PATH: process.env.PATH ?? '/usr/bin:/bin', LC_ALL: 'C' } },
      (error, stdout, stderr) =>
        done({
          status: error ? Number((error as { code?: unknown }).code ?? 1) : 0,
          stdout: String(stdout),
          stderr: String(stderr),
        }),
    );
  });
}

describe('the sudo helper serves several agents on one host (one data_dir line each)', function () {
  this.timeout(120_000);
  let work: string;
  let bundle: string;
  let dir: string;
  let installedConfig: string;

  before(async function () {
    const missing = missingPrerequisite();
    if (missing) {
      if (process.env.CI === 'true') throw new Error(`privileged tests must run under CI: ${missing}`);
      console.warn(`SKIPPED several-agents sudo tests: ${missing}`);
      this.skip();
    }
    installedConfig = await readFile(HELPER_CONFIG, 'utf8');
    work = await mkdtemp(join(tmpdir(), 'rport-several-'));
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
    dir = join(ALLOW_ROOT, `several-${process.pid}`);
  });

  after(async () => {
    if (installedConfig !== undefined) await writeFile(HELPER_CONFIG, installedConfig, { mode: 0o644 });
    if (work) await rm(work, { recursive: true, force: true });
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  /** One push into a root-owned directory (so through `sudo helper move`) by the agent whose data_dir is given. */
  async function push(dataDir: string, destination: string, body: string): Promise<PushVerdict> {
    const uuid = `${Date.now()}-${Math.random().toString(16).slice(2)}`;
    const job = {
      dataDir,
      body,
      request: {
        uuid,
        sourceName: `${uuid}_rport_filepush`,
        destination,
        force: false,
        sync: false,
        ownership: {},
      },
    };
    const r = await asRport([process.execPath, bundle, JSON.stringify(job)], work);
    if (r.status !== 0) throw new Error(`push child failed (${r.status}): ${r.stderr}`);
    return JSON.parse(r.stdout) as PushVerdict;
  }

  it('both listed agents place files into a root-owned directory through the one helper', async () => {
    expect(installedConfig.match(/^data_dir = .*$/gm)).to.deep.equal(DATA_DIRS.map((d) => `data_dir = ${d}`));
    for (const [i, dataDir] of DATA_DIRS.entries()) {
      const dest = join(dir, `agent-${i}.conf`);
      const v = await push(dataDir, dest, `from agent ${i}\n`);
      expect(v, JSON.stringify(v)).to.deep.include({ status: 'success' });
      expect(await readFile(dest, 'utf8')).to.equal(`from agent ${i}\n`);
    }
  });

  it('a single data_dir line (the original form) still works, and refuses the unlisted agent by name', async () => {
    const single = installedConfig
      .replace(/^data_dir = .*\n/gm, '')
      .replace(/^/, `data_dir = ${DATA_DIRS[0]}\n`);
    await writeFile(HELPER_CONFIG, single, { mode: 0o644 });
    try {
      const ok = await push(DATA_DIRS[0], join(dir, 'single-a.conf'), 'a\n');
      expect(ok, JSON.stringify(ok)).to.deep.include({ status: 'success' });
      const refused = await push(DATA_DIRS[1], join(dir, 'single-b.conf'), 'b\n');
      expect(refused.status).to.equal('error');
      expect(refused.message).to.contain(`is not ${DATA_DIRS[0]}/filepush/<id>_rport_filepush`);
      expect(existsSync(join(dir, 'single-b.conf'))).to.equal(false);
      expect(execFileSync('ls', ['-A', join(DATA_DIRS[1], 'filepush')], { encoding: 'utf8' })).to.equal('');
    } finally {
      await writeFile(HELPER_CONFIG, installedConfig, { mode: 0o644 });
    }
  });
});
