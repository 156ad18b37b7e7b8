import type { FileSource } from '../ports/file-source.ts';
import type { AccountIds, FileStatus, LocalFiles, TempFile } from '../ports/local-files.ts';
import type { ContentDiff } from './content-diff.ts';
import { linkRefusal } from './destination-refusal.ts';
import { messageOf } from './errors.ts';
import { counted } from './fetch-and-place.ts';
import { formatMode, specialBitsIn } from './file-mode.ts';
import { failure, ignored, success, type DecidedVerdict } from './outcome.ts';
import type { Ownership } from './ownership.ts';
import type { ProtectedPaths } from './protected-paths.ts';
import type { PushRequest } from './push-request.ts';
import type { VerifiedFileStep } from './verified-file-step.ts';

/** What a file's mode and owner are, or would be. */
interface Attributes {
  mode: number;
  uid: number;
  gid: number;
}

/** Where a checked push would go, as ReceiveFile worked it out for the real one. */
export interface CheckedPlacement {
  dest: string;
  real: string;
  mode: number;
  /** The file there now, if any. */
  existing?: FileStatus;
  /** Set when that file already holds the pushed bytes. */
  sameBytes: boolean;
}

const SETUID_SETGID = 0o6000;

/**
 * Agent, check mode: the steps of a push up to, and not including, the change. It fetches and
 * verifies into the temp folder, runs the verified-file steps (validators), resolves the owner, and
 * says what placing would do. Nothing on the host changes but the temp file, which is always removed.
 * Privileges (sudo) are never used: a check does not chown its temp file.
 */
export class CheckPush {
  constructor(
    private readonly files: LocalFiles,
    private readonly source: FileSource,
    private readonly protectedPaths: ProtectedPaths,
    private readonly diffs: ContentDiff,
    private readonly allowSpecialBits: boolean,
    private readonly steps: readonly VerifiedFileStep[],
  ) {}

  /** sync on a file that already holds the bytes: the real push changes mode and owner in place, fetching nothing. */
  async inPlace(dest: string, existing: FileStatus, req: PushRequest): Promise<DecidedVerdict> {
    const ids = await this.wanted(req.ownership);
    const wanted: Attributes = {
      mode: req.mode ?? existing.mode,
      uid: ids.uid ?? existing.uid,
      gid: ids.gid ?? existing.gid,
    };
    const changes = changesOf(existing, wanted);
    if (changes.length === 0) return ignored(`file ${dest} is already in sync: same md5, mode and owner`);
    const ownerChanges = wanted.uid !== existing.uid || wanted.gid !== existing.gid;
    if (ownerChanges && wanted.mode & SETUID_SETGID && !this.allowSpecialBits)
      return failure(
        `${dest} has ${specialBitsIn(wanted.mode)} set, which a change of owner clears; this client sets it again only with [file-reception] allow_special_bits = true in rport.conf; ${dest} would be left untouched`,
      );
    return success(`would change ${changes.join(' and ')} of ${dest} in place (same content)`, true);
  }

  /** Fetches and verifies as the real push does, runs the steps, and says what placing would do. */
  async viaTemp(
    req: PushRequest,
    to: CheckedPlacement,
    onProgress?: (bytes: number) => void,
  ): Promise<DecidedVerdict> {
    const { dest } = to;
    let temp: TempFile | undefined;
    try {
      temp = await this.files.writeTemp(req.sourceName, counted(this.source.open(req), onProgress));
    } catch (e) {
      return failure(`fetching ${req.sourceName} from the server failed: ${messageOf(e)}`);
    }
    try {
      if (temp.md5 !== req.md5 || temp.size !== req.size)
        return failure(
          `md5 checksum mismatch: expected ${req.md5} (${req.size} bytes), received ${temp.md5} (${temp.size} bytes)`,
        );
      for (const step of this.steps) {
        const refusal = await step(req, temp.path, dest);
        if (refusal !== undefined) return failure(refusal);
      }
      const now = await this.files.resolveParents(dest);
      const refusal = linkRefusal(this.protectedPaths, dest, now);
      if (refusal) return failure(refusal);
      const verdict = await this.placing(req, to, temp);
      if (!req.diff) return verdict;
      const old = to.existing ? to.real : undefined;
      return { ...verdict, diff: await this.diffs.between(dest, old, temp.path, temp.size) };
    } catch (e) {
      return failure(`checking ${dest} failed: ${messageOf(e)}`);
    } finally {
      await this.files.remove(temp.path).catch(() => undefined);
    }
  }

  /** The placed file would have the temp file's owner (the agent's user) unless the push names one. */
  private async placing(req: PushRequest, to: CheckedPlacement, temp: TempFile): Promise<DecidedVerdict> {
    const ids = await this.wanted(req.ownership);
    const own = await this.files.status(temp.path);
    if (!own) throw new Error(`the temp file ${temp.path} vanished`);
    const after: Attributes = { mode: to.mode, uid: ids.uid ?? own.uid, gid: ids.gid ?? own.gid };
    const { dest, existing } = to;
    if (!existing)
      return success(
        `would create ${dest} (${req.size} bytes, mode ${formatMode(after.mode)}, owner ${after.uid}:${after.gid})`,
      );
    const changes = changesOf(existing, after);
    const also = changes.length > 0 ? `; ${changes.join(', ')}` : '';
    if (!to.sameBytes) return success(`would replace ${dest}: the content differs${also}`);
    if (changes.length === 0)
      return success(`${dest} would be unchanged: same content, mode and owner`, false);
    return success(`would change ${changes.join(' and ')} of ${dest} (same content)`);
  }

  private async wanted(ownership: Ownership): Promise<AccountIds> {
    if (ownership.user === undefined && ownership.group === undefined) return {};
    return this.files.lookup(ownership);
  }
}

function changesOf(before: Attributes, after: Attributes): string[] {
  const out: string[] = [];
  if (before.mode !== after.mode) out.push(`mode ${formatMode(before.mode)} -> ${formatMode(after.mode)}`);
  if (before.uid !== after.uid || before.gid !== after.gid)
    out.push(`owner ${before.uid}:${before.gid} -> ${after.uid}:${after.gid}`);
  return out;
}
