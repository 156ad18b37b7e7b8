import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

function newestIn(dir: string): number {
  let newest = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    newest = Math.max(
      newest,
      e.isDirectory() ? newestIn(p) : e.name.endsWith('.ts') ? statSync(p).mtimeMs : 0,
    );
  }
  return newest;
}

/** rportd and rport run compiled JS from dist/ (as shipped); compile it when missing or older than src/. */
export function ensureBuilt(log: (m: string) => void): void {
  // The agent's bundle is written last by `npm run build`, so its age stands for the whole of dist/.
  const entry = join(ROOT, 'dist', 'bundle', 'rport.js');
  const built = existsSync(entry) ? statSync(entry).mtimeMs : 0;
  if (existsSync(join(ROOT, 'tsconfig.build.json')) && built < newestIn(join(ROOT, 'src'))) {
    log('dist/ is missing or older than src/: building it (npm run build: tsc, then the agent bundle)');
    const tsc = spawnSync(
      process.execPath,
      [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.build.json'],
      { cwd: ROOT, stdio: 'inherit' },
    );
    if (tsc.status !== 0) throw new Error('building dist/ failed (npm run build)');
    const bundle = spawnSync(process.execPath, [join(ROOT, 'scripts', 'bundle-agent.mjs')], {
      cwd: ROOT,
      stdio: 'inherit',
    });
    if (bundle.status !== 0) throw new Error('bundling the agent failed (node scripts/bundle-agent.mjs)');
  }
}
