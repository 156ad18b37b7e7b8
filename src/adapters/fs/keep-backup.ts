import { link } from 'node:fs/promises';
import { copyFile } from './copy-file.ts';
import { describeError, fsError } from './fs-errors.ts';
import type { PinnedDirectory } from './pinned-directory.ts';

/**
 * A hard link keeps the old file's bytes, owner and mode for free, and the rename that follows leaves
 * it alone; where no link can be made (another filesystem's rules, protected_hardlinks), a copy with
 * its mode and, when the agent may, its owner. Neither follows a link, nor replaces anything there.
 */
export async function keepBackup(dir: PinnedDirectory, name: string, backup: string): Promise<string> {
  const shown = dir.display(backup);
  try {
    await link(dir.entry(name), dir.entry(backup));
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EEXIST')
      throw fsError('EEXIST', `${shown} already exists; rport never replaces or follows anything there`);
    if (code === 'ENOENT') throw describeError(e, 'cannot back up', dir.display(name));
    await copyFile(dir.entry(name), dir.entry(backup), { keepOwner: 'best-effort', shownAs: shown });
  }
  return shown;
}
