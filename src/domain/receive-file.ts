import type { Clock } from '../ports/clock.ts';
import type { FileSource } from '../ports/file-source.ts';
import type { FileStatus, LocalFiles, TempFile } from '../ports/local-files.ts';
import type { PrivilegedFiles } from '../ports/privileged-files.ts';
import type { ApplyOwnership } from './apply-ownership.ts';
import { checkDestination, type PathFlavor } from './destination.ts';
import { isPermissionDenied, messageOf } from './errors.ts';
import { DEFAULT_DIR_MODE, DEFAULT_FILE_MODE } from './file-mode.ts';
import { failure, ignored, success, type PushVerdict } from './outcome.ts';
import { ownershipProblem } from './ownership.ts';
import type { ProtectedPaths } from './protected-paths.ts';
import type { PushRequest } from './push-request.ts';
import { KeyedQueue } from './keyed-queue.ts';

/** The client's `[file-reception]` settings. */
export interface ReceptionSettings {
  enabled: boolean;
  protectedPaths: ProtectedPaths;
  flavor: PathFlavor;
  /** Keep `<dest>.<timestamp>.bak` of a replaced file. */
  backup: boolean;
}

export const SUCCESS_MESSAGE = 'file successfully copied to destination';

/** Agent: checks the destination, decides skip / write / sync, fetches to a temp file, verifies, places atomically. */
export class ReceiveFile {
  private readonly perDestination = new KeyedQueue();

  constructor(
    private readonly files: LocalFiles,
    private readonly source: FileSource,
    private readonly privileged: PrivilegedFiles,
    private readonly ownership: ApplyOwnership,
    private readonly settings: ReceptionSettings,
    private readonly clock: Clock,
  ) {}

  /** Two pushes to the same destination run one after the other. */
  execute(req: PushRequest, onProgress?: (bytes: number) => void): Promise<PushVerdict> {
    const check = checkDestination(req.destination, this.settings.flavor);
    const key = check.ok ? check.normalized : req.destination;
    return this.perDestination.run(key, () => this.receive(req, onProgress));
  }

  private async receive(req: PushRequest, onProgress?: (bytes: number) => void): Promise<PushVerdict> {
    if (!this.settings.enabled) {
      return failure(
        'file reception is disabled on this client ([file-reception] enabled = false in rport.conf)',
      );
    }
    const check = checkDestination(req.destination, this.settings.flavor);
    if (!check.ok) return failure(check.problem);
    const dest = check.normalized;
    const badOwner = ownershipProblem(req.ownership);
    if (badOwner) return failure(badOwner);
    try {
      // One resolution is both checked and used: a second one could see a parent swapped for a link.
      const real = await this.files.resolveParents(dest);
      const refusal = this.refusal(dest, real);
      if (refusal) return failure(refusal);
      const existing = await this.files.status(real);
      const unusable = existing && unusableTarget(dest, existing);
      if (unusable) return failure(unusable);
      if (existing && !req.force && !req.sync) {
        return ignored(`file ${dest} already exists; set force or sync to replace it`);
      }
      const mode = req.mode ?? DEFAULT_FILE_MODE;
      if (existing && req.sync && !req.force && (await this.sameContent(real, req.md5))) {
        const attrs = await this.ownership.syncExisting(real, existing, req.mode, req.ownership);
        if (attrs === 'in-sync') return ignored(`file ${dest} is already in sync: same md5, mode and owner`);
        if (attrs === 'updated')
          return success(`file ${dest} already had the same content; mode and owner updated`);
      }
      return await this.fetchAndPlace(req, dest, real, mode, existing !== undefined, onProgress);
    } catch (e) {
      return failure(`${dest}: ${messageOf(e)}`);
    }
  }

  /** sync compares content; a file the agent may not read cannot be compared, so it counts as different and is replaced. */
  private async sameContent(path: string, md5: string): Promise<boolean> {
    try {
      return (await this.files.md5(path)) === md5;
    } catch (e) {
      if (isPermissionDenied(e)) return false;
      throw e;
    }
  }

  /** The protected path rule, on the path as given and on where it really leads through symlinked parents. */
  private refusal(dest: string, real: string): string | undefined {
    const rule = this.settings.protectedPaths;
    const direct = rule.refusing(dest);
    if (direct) return `${dest} is a protected path (matches "${direct}" in [file-reception] protected)`;
    const viaLink = real === dest ? undefined : rule.refusing(real);
    if (viaLink)
      return `${dest} leads through a symlink to ${real}, a protected path (matches "${viaLink}" in [file-reception] protected)`;
    return undefined;
  }

  private async fetchAndPlace(
    req: PushRequest,
    dest: string,
    real: string,
    mode: number,
    replacing: boolean,
    onProgress?: (bytes: number) => void,
  ): Promise<PushVerdict> {
    let temp: TempFile | undefined;
    try {
      temp = await this.files.writeTemp(req.sourceName, counted(this.source.open(req), onProgress));
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
      await this.ownership.execute(temp.path, mode, req.ownership);
      // Re-check just before the move: a parent may have been swapped for a link since the first check.
      const now = await this.files.resolveParents(dest);
      const refusal = this.refusal(dest, now);
      if (refusal) return failure(refusal);
      if (now !== real)
        return failure(
          `${dest} now leads to ${now} instead of ${real}: a parent changed during the push; ${dest} left untouched`,
        );
      if (replacing && this.settings.backup)
        await this.files.backup(real, this.clock.now().toISOString().replace(/[:.]/g, '-'));
      await this.place(temp.path, real);
      temp = undefined;
      return success(SUCCESS_MESSAGE);
    } catch (e) {
      return failure(`placing ${dest} failed: ${messageOf(e)}; ${dest} left untouched`);
    } finally {
      if (temp) await this.files.remove(temp.path).catch(() => undefined);
    }
  }

  private async place(tempPath: string, destination: string): Promise<void> {
    try {
      await this.files.place(tempPath, destination, DEFAULT_DIR_MODE);
    } catch (e) {
      if (!isPermissionDenied(e)) throw e;
      await this.privileged.move(tempPath, destination);
    }
  }
}

function unusableTarget(dest: string, s: FileStatus): string | undefined {
  if (s.type === 'directory') return `${dest} is an existing directory; give the full path of the file`;
  if (s.type === 'symlink') return `${dest} is a symbolic link; rport never writes through a link`;
  if (s.type === 'other') return `${dest} exists and is not a regular file`;
  return undefined;
}

async function* counted(
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
