import type { AccountIds, FileStatus, LocalFiles } from '../ports/local-files.ts';
import type { PrivilegedFiles } from '../ports/privileged-files.ts';
import { isPermissionDenied } from './errors.ts';
import type { Ownership } from './ownership.ts';

const SPECIAL_BITS = 0o6000; // setuid, setgid: chown clears them, so they are set again after it

/**
 * 'special-bits': the owner must change on a file whose setuid/setgid bits the chown clears, and
 * setting them again is not allowed on this host.
 */
type SyncAttributes = 'in-sync' | 'updated' | 'needs-replace' | 'special-bits';

export class ApplyOwnership {
  constructor(
    private readonly files: LocalFiles,
    private readonly privileged: PrivilegedFiles,
  ) {}

  /** Sets the final mode and owner on a verified temp file, before it becomes visible. */
  async execute(tempPath: string, mode: number, ownership: Ownership): Promise<void> {
    await this.files.chmod(tempPath, mode);
    const ids = await this.wanted(ownership);
    if (!ids) return;
    const status = await this.files.status(tempPath);
    if (!status || ownerMatches(status, ids)) return;
    try {
      await this.files.chown(tempPath, ids);
      if (mode & SPECIAL_BITS) await this.files.chmod(tempPath, mode);
    } catch (e) {
      if (!isPermissionDenied(e)) throw e;
      await this.privileged.chown(tempPath, ownership);
      if (mode & SPECIAL_BITS) await this.privileged.chmod(tempPath, mode);
    }
  }

  /**
   * sync on an existing file with the same content: applies mode and owner with the agent's own
   * rights. Privileges are never used on a file the agent did not write, so when those rights are
   * not enough the answer is 'needs-replace' (fetch and place a fresh copy through the temp file).
   * An undefined mode means none was asked for: the existing file keeps its mode (the spec changes
   * it only "if file mode parameter is provided").
   */
  async syncExisting(
    path: string,
    status: FileStatus,
    mode: number | undefined,
    ownership: Ownership,
    allowSpecialBits = true,
  ): Promise<SyncAttributes> {
    const ids = await this.wanted(ownership);
    const ownerOk = !ids || ownerMatches(status, ids);
    const wantedMode = mode ?? status.mode;
    const modeOk = status.mode === wantedMode;
    if (ownerOk && modeOk) return 'in-sync';
    // chmod also restores setuid/setgid bits that the chown cleared.
    const restore = !ownerOk && (wantedMode & SPECIAL_BITS) !== 0;
    if (restore && !allowSpecialBits) return 'special-bits';
    try {
      await this.files.changeInPlace(path, {
        ...(ownerOk ? {} : ids),
        ...(!modeOk || restore ? { mode: wantedMode } : {}),
      });
      return 'updated';
    } catch (e) {
      if (isPermissionDenied(e)) return 'needs-replace';
      throw e;
    }
  }

  private async wanted(ownership: Ownership): Promise<AccountIds | undefined> {
    if (ownership.user === undefined && ownership.group === undefined) return undefined;
    return this.files.lookup(ownership);
  }
}

const ownerMatches = (s: FileStatus, ids: AccountIds): boolean =>
  (ids.uid === undefined || ids.uid === s.uid) && (ids.gid === undefined || ids.gid === s.gid);
