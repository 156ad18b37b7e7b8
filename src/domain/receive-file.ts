import type { Clock } from '../ports/clock.ts';
import type { FileSource } from '../ports/file-source.ts';
import type { LocalFiles } from '../ports/local-files.ts';
import type { PrivilegedFiles } from '../ports/privileged-files.ts';
import type { ApplyOwnership } from './apply-ownership.ts';
import { DEFAULT_BACKUP_KEEP } from './backup-names.ts';
import { BackupStep } from './backup-step.ts';
import { CheckPush } from './check-push.ts';
import { ContentDiff, DEFAULT_DIFF_SETTINGS, type DiffSettings } from './content-diff.ts';
import { checkDestination, type PathFlavor } from './destination.ts';
import { protectedRefusal, unusableTarget } from './destination-refusal.ts';
import { isPermissionDenied, messageOf } from './errors.ts';
import { FetchAndPlace } from './fetch-and-place.ts';
import { DEFAULT_FILE_MODE, formatMode, SPECIAL_MODE_BITS, specialBitsIn } from './file-mode.ts';
import { KeyedQueue } from './keyed-queue.ts';
import { failure, ignored, success, type PushVerdict } from './outcome.ts';
import { ownershipProblem } from './ownership.ts';
import type { ProtectedPaths } from './protected-paths.ts';
import type { PushRequest } from './push-request.ts';
import { NO_VALIDATORS, ValidationStep, type ValidatorSettings } from './validation-step.ts';
import type { VerifiedFileStep } from './verified-file-step.ts';

export { SUCCESS_MESSAGE } from './fetch-and-place.ts';

/** The client's `[file-reception]` settings. */
export interface ReceptionSettings {
  enabled: boolean;
  protectedPaths: ProtectedPaths;
  flavor: PathFlavor;
  /** Keep `<dest>.<timestamp>.bak` of a replaced file, unless a push says otherwise. */
  backup: boolean;
  /** `[file-reception] backup_keep`: backups of one file kept; default 3. */
  backupKeep?: number;
  /** `[file-reception.validators]` and `validate_timeout`; default none. */
  validators?: ValidatorSettings;
  /** `[file-reception] allow_special_bits`: setuid, setgid and sticky modes are placed only when true. */
  allowSpecialBits: boolean;
  /** `[file-reception] diff` and `max_diff_size`; absent: diffs on, up to 64 KiB. */
  diff?: DiffSettings;
}

const DISABLED = 'file reception is disabled on this client ([file-reception] enabled = false in rport.conf)';
const ALLOW_SPECIAL = '[file-reception] allow_special_bits = true in rport.conf';

/** Agent: checks the destination, decides skip / write / sync, fetches to a temp file, verifies, places atomically. */
export class ReceiveFile {
  private readonly perDestination = new KeyedQueue();
  private readonly fetchAndPlace: FetchAndPlace;
  private readonly diffs: ContentDiff;
  private readonly checkPush: CheckPush;

  constructor(
    private readonly files: LocalFiles,
    source: FileSource,
    privileged: PrivilegedFiles,
    private readonly ownership: ApplyOwnership,
    private readonly settings: ReceptionSettings,
    clock: Clock,
    /** Run on every verified temp file before it is placed, and in check mode, after the validators. */
    steps: readonly VerifiedFileStep[] = [],
    /** The push's named validators (the first verified-file step); none can run when absent. */
    private readonly validation = new ValidationStep(settings.validators ?? NO_VALIDATORS),
  ) {
    const verified = [validation.step, ...steps];
    const backups = new BackupStep(files, clock, {
      byDefault: settings.backup,
      keep: settings.backupKeep ?? DEFAULT_BACKUP_KEEP,
    });
    this.diffs = new ContentDiff(files, settings.diff ?? DEFAULT_DIFF_SETTINGS);
    this.checkPush = new CheckPush(
      files,
      source,
      settings.protectedPaths,
      this.diffs,
      settings.allowSpecialBits,
      verified,
    );
    this.fetchAndPlace = new FetchAndPlace(
      files,
      source,
      privileged,
      ownership,
      settings.protectedPaths,
      backups,
      this.diffs,
      verified,
    );
  }

  /**
   * Checks the request, then writes (or, in check mode, says what it would write); two pushes to the
   * same destination run one after the other.
   */
  async execute(req: PushRequest, onProgress?: (bytes: number) => void): Promise<PushVerdict> {
    return this.reported(req, await this.decide(req, onProgress));
  }

  /** Check mode's "check:" before the message, and the diff's reason when the push asked for one and got none. */
  private reported(req: PushRequest, v: PushVerdict): PushVerdict {
    const message = req.check ? `check: ${v.message}` : v.message;
    const diff = req.diff ? (v.diff ?? this.diffs.reasonFor(v, req.sync)) : undefined;
    return { ...v, message, ...(diff === undefined ? {} : { diff }) };
  }

  private async decide(req: PushRequest, onProgress?: (bytes: number) => void): Promise<PushVerdict> {
    if (!this.settings.enabled) return failure(DISABLED);
    const check = checkDestination(req.destination, this.settings.flavor);
    if (!check.ok) return failure(check.problem);
    const badOwner = ownershipProblem(req.ownership);
    if (badOwner) return failure(badOwner);
    if (req.mode !== undefined && req.mode & SPECIAL_MODE_BITS && !this.settings.allowSpecialBits)
      return failure(
        `mode ${formatMode(req.mode)} asks for ${specialBitsIn(req.mode)}, which this client refuses unless ${ALLOW_SPECIAL}; ${check.normalized} left untouched`,
      );
    const dest = check.normalized;
    const unusableValidator = this.validation.refusal(req, dest);
    if (unusableValidator) return failure(unusableValidator);
    return this.perDestination.run(dest, () => this.receive(req, dest, onProgress));
  }

  /** dest is the destination in normal form, the only form used from here on. */
  private async receive(
    req: PushRequest,
    dest: string,
    onProgress?: (bytes: number) => void,
  ): Promise<PushVerdict> {
    try {
      // One resolution is both checked and used: a second one could see a parent swapped for a link.
      const real = await this.files.resolveParents(dest);
      const refusal = protectedRefusal(this.settings.protectedPaths, dest, real);
      if (refusal) return failure(refusal);
      const existing = await this.files.status(real);
      const unusable = existing && unusableTarget(dest, existing);
      if (unusable) return failure(unusable);
      if (existing && !req.force && !req.sync) {
        return ignored(`file ${dest} already exists; set force or sync to replace it`);
      }
      // Same bytes already there: whether the push changes anything then rests on mode and owner.
      // sync and check need to know before the fetch; a plain force learns it during the fetch, by
      // comparing the bytes with the old file's as they arrive (FetchAndPlace), cheaper than an md5.
      const sameSize = existing !== undefined && existing.size === req.size;
      const same = sameSize && (req.sync || req.check) && (await this.sameContent(real, req.md5));
      if (same && req.sync && !req.force && req.check)
        return await this.checkPush.inPlace(dest, existing, req);
      if (same && req.sync && !req.force) {
        const attrs = await this.ownership.syncExisting(
          real,
          existing,
          req.mode,
          req.ownership,
          this.settings.allowSpecialBits,
        );
        if (attrs === 'in-sync') return ignored(`file ${dest} is already in sync: same md5, mode and owner`);
        if (attrs === 'updated')
          return success(`file ${dest} already had the same content; mode and owner updated`);
        if (attrs === 'special-bits')
          return failure(
            `${dest} has ${specialBitsIn(existing.mode)} set, which a change of owner clears; this client sets it again only with ${ALLOW_SPECIAL}; ${dest} left untouched`,
          );
      }
      const mode = req.mode ?? DEFAULT_FILE_MODE;
      if (req.check)
        return await this.checkPush.viaTemp(
          req,
          { dest, real, mode, existing, sameBytes: same === true },
          onProgress,
        );
      const to = {
        dest,
        real,
        mode,
        replacing: existing !== undefined,
        sameBytesAs: same ? existing : undefined,
        compareWith: sameSize && !same ? existing : undefined,
      };
      return await this.fetchAndPlace.execute(req, to, onProgress);
    } catch (e) {
      return failure(`${dest}: ${messageOf(e)}`);
    }
  }

  /**
   * sync compares content, and so does force, to tell whether it changed anything (read only when
   * the sizes match). A file the agent may not read cannot be compared, so it counts as different.
   */
  private async sameContent(path: string, md5: string): Promise<boolean> {
    try {
      return (await this.files.md5(path)) === md5;
    } catch (e) {
      if (isPermissionDenied(e)) return false;
      throw e;
    }
  }
}
