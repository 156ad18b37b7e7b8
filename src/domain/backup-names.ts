/**
 * The names of the backups a push keeps: `<dest>.<stamp>.bak` beside the destination, the stamp
 * `YYYYMMDDTHHMMSSZ` in UTC, then `01` … `99` appended when that second's name is taken. Names sort
 * as they were made (`…Z.bak` < `…Z01.bak` < `…Z02.bak`), and retention reads nothing but names of
 * exactly this form.
 */

export const DEFAULT_BACKUP_KEEP = 3;
export const MAX_BACKUP_KEEP = 1000;
const MAX_SAME_SECOND = 99;

/** `20261204T193000Z` for 2026-12-04 19:30:00.xxx UTC. */
export function backupStamp(at: Date): string {
  return at
    .toISOString()
    .replace(/\.\d+Z$/, 'Z')
    .replace(/[-:]/g, '');
}

/** The backup of the file named `base` with that stamp. */
export const backupName = (base: string, stamp: string): string => `${base}.${stamp}.bak`;

/**
 * The stamp for a backup made in that second: `…Z`, or past the last one that second already has
 * (`…Z01`, `…Z02`, …), never a gap before it, so that a name retention freed is not reused out of
 * order. Undefined when that second's 100 names are used up.
 */
export function freeBackupStamp(base: string, stamp: string, taken: ReadonlySet<string>): string | undefined {
  const variant = (n: number): string => (n === 0 ? stamp : `${stamp}${String(n).padStart(2, '0')}`);
  let next = 0;
  for (let n = 0; n <= MAX_SAME_SECOND; n++) if (taken.has(backupName(base, variant(n)))) next = n + 1;
  return next > MAX_SAME_SECOND ? undefined : variant(next);
}

const escaped = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** Whether `name` is a backup of the file named `base`, in exactly the form rport makes. */
export function isBackupOf(base: string, name: string): boolean {
  return new RegExp(`^${escaped(base)}\\.\\d{8}T\\d{6}Z(\\d{2})?\\.bak$`).test(name);
}

/**
 * The backups of `base` to remove so that `keep` remain: the oldest by name, among regular files of
 * exactly the backup form. `justMade` is never removed, whatever the other names say (a file named
 * for a later date cannot push out the backup this push made).
 */
export function backupsToRemove(
  base: string,
  entries: readonly { name: string; type: string }[],
  keep: number,
  justMade: string,
): string[] {
  const others = entries
    .filter((e) => e.type === 'file' && e.name !== justMade && isBackupOf(base, e.name))
    .map((e) => e.name)
    .sort()
    .reverse();
  return others.slice(Math.max(0, keep - 1));
}
