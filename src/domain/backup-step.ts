import type { Clock } from '../ports/clock.ts';
import type { LocalFiles } from '../ports/local-files.ts';
import { backupsToRemove, backupStamp, freeBackupStamp } from './backup-names.ts';
import { messageOf } from './errors.ts';
import type { PushRequest } from './push-request.ts';

/** `[file-reception] backup` (the default of a push's own `backup`) and `backup_keep`. */
export interface BackupSettings {
  byDefault: boolean;
  keep: number;
}

/** The file name and the directory of a path, split at its last separator. */
function split(path: string): { dir: string; base: string } {
  const at = Math.max(path.lastIndexOf('/'), path.lastIndexOf('\\'));
  return { dir: path.slice(0, at + 1), base: path.slice(at + 1) };
}

/**
 * Agent: the backup a push keeps of the file it replaces, and the retention of that file's older
 * backups. Pushes to one destination run one after the other, so the name picked from the listing
 * is still free when it is made (unless someone else made it meanwhile: that fails, never follows).
 */
export class BackupStep {
  constructor(
    private readonly files: LocalFiles,
    private readonly clock: Clock,
    private readonly settings: BackupSettings,
  ) {}

  /** The push's own `backup` when it gave one, else the agent's default; never in check mode. */
  wanted(req: PushRequest): boolean {
    if (req.check) return false;
    return typeof req.backup === 'boolean' ? req.backup : this.settings.byDefault;
  }

  /** Before the move: keeps the file about to be replaced; returns the backup's path. */
  async keep(real: string): Promise<string> {
    const { base } = split(real);
    const taken = new Set((await this.files.listBeside(real)).map((e) => e.name));
    const stamp = freeBackupStamp(base, backupStamp(this.clock.now()), taken);
    if (!stamp) throw new Error(`${real} already has 100 backups made within this second`);
    return this.files.backup(real, stamp);
  }

  /**
   * After the move: removes the oldest backups of that file past `backup_keep`. The push is done by
   * then, so a failure here is told in its message, not made its outcome.
   */
  async prune(real: string, kept: string): Promise<string> {
    const { dir, base } = split(real);
    try {
      const old = backupsToRemove(
        base,
        await this.files.listBeside(real),
        this.settings.keep,
        split(kept).base,
      );
      let removed = 0;
      for (const name of old) if (await this.files.removeBeside(real, name)) removed++;
      return removed === 0
        ? ''
        : `; ${removed} older backup${removed === 1 ? '' : 's'} removed (backup_keep ${this.settings.keep})`;
    } catch (e) {
      return `; removing older backups in ${dir} failed: ${messageOf(e)}`;
    }
  }
}
