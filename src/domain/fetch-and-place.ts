import type { FileSource } from '../ports/file-source.ts';
import type { FileStatus, LocalFiles, TempFile } from '../ports/local-files.ts';
import type { PrivilegedFiles } from '../ports/privileged-files.ts';
import type { ApplyOwnership } from './apply-ownership.ts';
import type { BackupStep } from './backup-step.ts';
import type { ContentDiff } from './content-diff.ts';
import { linkRefusal } from './destination-refusal.ts';
import { isPermissionDenied, messageOf } from './errors.ts';
import { DEFAULT_DIR_MODE } from './file-mode.ts';
import { failure, success, type PushVerdict } from './outcome.ts';
import type { ProtectedPaths } from './protected-paths.ts';
import type { PushRequest } from './push-request.ts';
import type { VerifiedFileStep } from './verified-file-step.ts';

export const SUCCESS_MESSAGE = 'file successfully copied to destination';

/** Where a checked push goes: dest in normal form, real where it leads, whether a file is replaced. */
interface Placement {
  dest: string;
  real: string;
  mode: number;
  replacing: boolean;
  /** The replaced file, when it already held the pushed bytes: the push then changes only what its mode and owner do. */
  sameBytesAs?: FileStatus;
  /** The replaced file, of the same size but not compared yet: compared with the bytes as they are fetched. */
  compareWith?: FileStatus;
}

/**
 * Agent: fetches the staged file to a temp file, verifies its md5 and size, applies mode and owner,
 * and moves it into place atomically. On any failure the destination is left untouched and the temp
 * file removed.
 */
export class FetchAndPlace {
  constructor(
    private readonly files: LocalFiles,
    private readonly source: FileSource,
    private readonly privileged: PrivilegedFiles,
    private readonly ownership: ApplyOwnership,
    private readonly protectedPaths: ProtectedPaths,
    private readonly backups: BackupStep,
    /** Makes the diff a push asks for, before the old file is replaced. */
    private readonly diffs?: ContentDiff,
    /** Run on the verified temp file before anything else (validators); a refusal ends the push. */
    private readonly steps: readonly VerifiedFileStep[] = [],
  ) {}

  async execute(req: PushRequest, to: Placement, onProgress?: (bytes: number) => void): Promise<PushVerdict> {
    const { dest, real } = to;
    let temp: TempFile | undefined;
    let kept: string | undefined;
    try {
      // A same-size file is compared as the bytes arrive: the fetched file is never read back.
      const compareWith = to.compareWith ? real : undefined;
      temp = await this.files.writeTemp(
        req.sourceName,
        counted(this.source.open(req), onProgress),
        compareWith,
      );
    } catch (e) {
      return failure(
        `fetching ${req.sourceName} from the server failed: ${messageOf(e)}; ${dest} left untouched`,
      );
    }
    try {
      if (temp.md5 !== req.md5 || temp.size !== req.size) {
        return failure(
          `md5 checksum mismatch: expected ${req.md5} (${req.size} bytes), received ${temp.md5} (${temp.size} bytes); ${dest} left untouched`,
        );
      }
      for (const step of this.steps) {
        const refusal = await step(req, temp.path, dest);
        if (refusal !== undefined) return failure(`${refusal}; ${dest} left untouched`);
      }
      const diff = await this.diffOf(req, to, temp);
      await this.ownership.execute(temp.path, to.mode, req.ownership);
      // Checked again on purpose, just before the move: a parent may have been swapped for a link
      // during the fetch. The destination as given cannot have changed, so only where it leads is.
      const now = await this.files.resolveParents(dest);
      const refusal = linkRefusal(this.protectedPaths, dest, now);
      if (refusal) return failure(refusal);
      if (now !== real)
        return failure(
          `${dest} now leads to ${now} instead of ${real}: a parent changed during the push; ${dest} left untouched`,
        );
      const sameBytesAs = to.sameBytesAs ?? (temp.sameAs ? to.compareWith : undefined);
      if (to.replacing && this.backups.wanted(req)) kept = await this.backups.keep(real);
      await this.place(temp.path, real);
      temp = undefined;
      const changed = !sameBytesAs || (await this.attributesDiffer(real, sameBytesAs));
      const done = { ...success(SUCCESS_MESSAGE, changed), ...(diff === undefined ? {} : { diff }) };
      return kept ? await this.withBackup(done, real, kept) : done;
    } catch (e) {
      // Not placed: a backup made for this push would only be a second name of the untouched file.
      if (kept && temp) await this.files.remove(kept).catch(() => undefined);
      return failure(`placing ${dest} failed: ${messageOf(e)}; ${dest} left untouched`);
    } finally {
      if (temp) await this.files.remove(temp.path).catch(() => undefined);
    }
  }

  /** The outcome names the backup it kept; older backups past backup_keep go. */
  private async withBackup(done: PushVerdict, real: string, kept: string): Promise<PushVerdict> {
    const pruned = await this.backups.prune(real, kept);
    return {
      ...done,
      message: `${done.message}; the replaced file is kept as ${kept}${pruned}`,
      backup: kept,
    };
  }

  /** The diff asked for, of the file being replaced (if any) against the verified temp file. */
  private async diffOf(req: PushRequest, to: Placement, temp: TempFile): Promise<string | undefined> {
    if (!req.diff || !this.diffs) return undefined;
    return this.diffs.between(to.dest, to.replacing ? to.real : undefined, temp.path, temp.size);
  }

  /** Whether the placed file's mode or owner differs from the file it replaced; unknown counts as changed. */
  private async attributesDiffer(path: string, before: FileStatus): Promise<boolean> {
    const now = await this.files.status(path).catch(() => undefined);
    return !now || now.mode !== before.mode || now.uid !== before.uid || now.gid !== before.gid;
  }

  /** A directory the agent may not write to is reached through the sudo mv rule. */
  private async place(tempPath: string, destination: string): Promise<void> {
    try {
      await this.files.place(tempPath, destination, DEFAULT_DIR_MODE);
    } catch (e) {
      if (!isPermissionDenied(e)) throw e;
      await this.privileged.move(tempPath, destination);
    }
  }
}

export async function* counted(
  source: AsyncIterable<Uint8Array>,
  onProgress?: (bytes: number) => void,
): AsyncIterable<Uint8Array> {
  let bytes = 0;
  for await (const chunk of source) {
    bytes += chunk.byteLength;
    onProgress?.(bytes);
    yield chunk;
  }
}
