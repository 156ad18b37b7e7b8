// The bench's tmpfs (bench/run.ts): mounted inside a run's temp root, and cleaned up after a run
// that was killed before it could unmount its own.
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

/**
 * A second temp root on a tmpfs of its own, mounted inside the temp root, for figures that take the
 * disk out of a run (fan-out). Mounting needs root; elsewhere those figures are left out. (/dev/shm
 * would not do: rportd and the agents refuse destinations under /dev.) The runner unmounts it on exit.
 */
export function mountMemoryRoot(root: string): string {
  if (process.platform !== 'linux' || process.getuid?.() !== 0) return '';
  unmountLeftovers();
  const dir = join(root, 'in-memory');
  try {
    // Whose root this is: a later run removes the tmpfs of a run that was killed (SIGKILL skips the runner's clean-up).
    writeFileSync(join(root, 'pid'), String(process.pid));
    mkdirSync(dir);
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=2g,mode=0700', 'rport-bench', dir], { stdio: 'pipe' });
    return dir;
  } catch (e) {
    console.error(
      `no tmpfs for the in-memory figures (${(e as Error).message.split('\n')[0]}); they are left out`,
    );
    return '';
  }
}

/** The tmpfs roots of earlier runs whose process is gone (killed with SIGKILL): unmounted, and their temp roots removed. */
function unmountLeftovers(): void {
  let mounts: string[];
  try {
    mounts = readFileSync('/proc/self/mounts', 'utf8').split('\n');
  } catch {
    return;
  }
  for (const line of mounts) {
    const [source, dir, type] = line.split(' ');
    if (source !== 'rport-bench' || type !== 'tmpfs' || !dir.startsWith(join(tmpdir(), 'rport-bench-')))
      continue;
    const owner = dirname(dir);
    if (processAlive(pidFileOf(owner))) continue;
    console.error(`removing the tmpfs a killed run left at ${dir}`);
    unmount(dir);
    rmSync(owner, { recursive: true, force: true });
  }
}

function pidFileOf(root: string): string {
  try {
    return readFileSync(join(root, 'pid'), 'utf8').trim();
  } catch {
    return ''; // a run from before pid files, or one whose root is half gone
  }
}

/** Whether the process of this pid text still exists (empty or not a number: taken as gone). */
function processAlive(pid: string): boolean {
  if (!/^\d+$/.test(pid)) return false;
  try {
    process.kill(Number(pid), 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export function unmount(dir: string): void {
  try {
    execFileSync('umount', [dir], { stdio: 'pipe' });
  } catch {
    // Still busy (a child not yet gone): detach it now, the kernel frees it when the last user goes.
    try {
      execFileSync('umount', ['-l', dir], { stdio: 'pipe' });
    } catch (e) {
      console.error(`could not unmount ${dir}: ${(e as Error).message.split('\n')[0]}`);
    }
  }
}
