import type { Clock } from '../ports/clock.ts';
import type { UploadArchive } from '../ports/delivery-queue.ts';
import type { Logger } from '../ports/logger.ts';
import type { StagingStore } from '../ports/staging-store.ts';
import { messageOf } from './errors.ts';
import { Deadlines } from './sleep-until.ts';

/**
 * Server: how long a staged file lives. Each push that needs it holds it (a fan-out, a queued
 * target, a retry); when the last hold goes it is kept for `[server] keep_staged_for` (for retries),
 * then removed, or removed at once when that is 0, as before retries existed.
 */
export class StagedRetention {
  private readonly holds = new Map<string, number>();
  /** Uploads whose staged file is being removed: no new hold may take them. */
  private readonly removing = new Set<string>();
  private readonly deadlines: Deadlines;

  constructor(
    private readonly staging: StagingStore,
    private readonly archive: UploadArchive,
    private readonly clock: Clock,
    private readonly logger: Logger,
    /** `[server] keep_staged_for`, in milliseconds. */
    private readonly keepMs: number,
  ) {
    this.deadlines = new Deadlines(clock);
  }

  hold(uuid: string): void {
    this.holds.set(uuid, (this.holds.get(uuid) ?? 0) + 1);
  }

  /** A hold for a later push (a retry): false when the staged file is gone, or going. */
  async acquire(uuid: string): Promise<boolean> {
    if (this.removing.has(uuid)) return false;
    this.hold(uuid);
    const kept = await this.archive.find(uuid);
    if (kept?.staged) return true;
    this.drop(uuid);
    return false;
  }

  /** The end of a hold; after the last one the file's keeping time starts. */
  async release(uuid: string): Promise<void> {
    if (this.drop(uuid) > 0) return;
    if (this.keepMs <= 0) return this.removeNow(uuid);
    const until = new Date(this.clock.now().getTime() + this.keepMs);
    await this.archive.keepUntil(uuid, until);
    this.removeAt(uuid, until);
  }

  /**
   * At start, once the queue has taken its holds: files whose keeping time is over (or that a push in
   * flight at the stop held) go, the others are removed when their time comes. Returns the uuids kept.
   */
  async resume(): Promise<Set<string>> {
    const kept = new Set<string>();
    for (const { uuid, keepUntil } of await this.archive.withStagedFiles()) {
      if (this.holds.has(uuid)) kept.add(uuid);
      else if (!keepUntil || keepUntil <= this.clock.now()) await this.removeNow(uuid);
      else {
        kept.add(uuid);
        this.removeAt(uuid, keepUntil);
      }
    }
    return kept;
  }

  /** Lets go of the timers (rportd stops). */
  close(): void {
    this.deadlines.close();
  }

  /** Removes one hold; returns how many are left. */
  private drop(uuid: string): number {
    const left = (this.holds.get(uuid) ?? 1) - 1;
    if (left > 0) this.holds.set(uuid, left);
    else this.holds.delete(uuid);
    return left;
  }

  private removeAt(uuid: string, until: Date): void {
    this.deadlines
      .reach(until)
      .then(async (reached) => {
        if (!reached || this.holds.has(uuid)) return;
        // A later release set a later time, and its own timer removes the file then.
        const kept = await this.archive.find(uuid);
        if (kept?.keepUntil && kept.keepUntil > this.clock.now()) return;
        await this.removeNow(uuid);
      })
      .catch((e: unknown) => this.logger.error({ uuid, err: messageOf(e) }, 'removing a staged file failed'));
  }

  private async removeNow(uuid: string): Promise<void> {
    this.removing.add(uuid);
    try {
      await this.staging.remove(uuid);
      await this.archive.stagedRemoved(uuid);
    } finally {
      this.removing.delete(uuid);
    }
  }
}
