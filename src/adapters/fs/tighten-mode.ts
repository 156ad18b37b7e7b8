import { chmodSync, statSync } from 'node:fs';

/**
 * Sets `mode` on a file or folder that grants its group or others anything (one an older version
 * left open); a missing path is left missing. Not one's own (EPERM: e.g. a data_dir made by root
 * for the service), it is left as it is: its owner decides.
 */
export function tightenMode(path: string, mode: number): void {
  let current: number;
  try {
    current = statSync(path).mode;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw e;
  }
  if ((current & 0o077) === 0) return;
  try {
    chmodSync(path, mode);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EPERM') throw e;
  }
}
