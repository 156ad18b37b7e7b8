import { execFileSync, spawn } from 'node:child_process';
import { constants } from 'node:fs';
import { access } from 'node:fs/promises';

export interface Exited {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs a program to its exit. A program that keeps running is killed after `limitMs` and comes
 * back with code null, which no test expects: the limit only keeps a broken start from hanging.
 */
export function runToExit(
  argv: string[],
  opts: { cwd?: string; env?: NodeJS.ProcessEnv; limitMs?: number } = {},
): Promise<Exited> {
  const child = spawn(argv[0], argv.slice(1), {
    cwd: opts.cwd,
    env: opts.env ?? { ...process.env, NODE_V8_COVERAGE: '', NODE_OPTIONS: '' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  const limit = setTimeout(() => child.kill('SIGKILL'), opts.limitMs ?? 20_000);
  return new Promise((resolve) =>
    child.once('close', (code) => {
      clearTimeout(limit);
      resolve({ code, stdout, stderr });
    }),
  );
}

/**
 * Why the tests cannot act as the unprivileged `rport` user (.ci/setup-privileged.sh makes it), or
 * undefined when they can: root, runuser, the user, and `paths` readable by it.
 */
export async function cannotRunAsRport(paths: string[]): Promise<string | undefined> {
  if (process.getuid?.() !== 0) return 'not running as root';
  try {
    await access('/usr/sbin/runuser', constants.X_OK);
    execFileSync('id', ['rport'], { stdio: 'pipe' });
  } catch {
    return 'no runuser or no OS user "rport" (run .ci/setup-privileged.sh as root)';
  }
  for (const p of paths) {
    try {
      execFileSync('runuser', ['-u', 'rport', '--', 'test', '-r', p], { stdio: 'pipe' });
    } catch {
      return `the rport user cannot read ${p}`;
    }
  }
  return undefined;
}
