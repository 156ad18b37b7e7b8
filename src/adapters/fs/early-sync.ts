import type { FileHandle } from 'node:fs/promises';

/** Bytes written between early data syncs: write-back runs during the transfer, so the final fsync finds little left to flush. */
export const SYNC_EVERY = 16 * 1024 * 1024;

/**
 * Starts a data sync every SYNC_EVERY bytes, after the write that crossed the mark and beside the
 * writes that follow. Not a durability point (the writer's owner still fsyncs at the end): it only
 * starts write-back early. A failed sync is kept and thrown by check(), not dropped: Linux reports a
 * write-back error to a file descriptor only once.
 */
export class EarlySync {
  private unsynced = 0;
  private syncing: Promise<void> | undefined;
  private failed = false;
  private error: unknown;

  constructor(
    private readonly file: FileHandle,
    private readonly every = SYNC_EVERY,
  ) {}

  /** Counts a write of `bytes` (settling with `write`), and starts a sync after it once enough went unsynced. */
  wrote(bytes: number, write: Promise<void>): void {
    this.unsynced += bytes;
    if (this.unsynced < this.every || this.syncing) return;
    this.unsynced = 0;
    this.syncing = write
      .then(() => this.file.datasync())
      .then(
        () => void (this.syncing = undefined),
        (e: unknown) => {
          if (!this.failed) [this.failed, this.error] = [true, e];
          this.syncing = undefined;
        },
      );
  }

  /** Throws the error of a sync that failed. */
  check(): void {
    if (this.failed) throw this.error;
  }

  /** Waits for the sync in flight (it never rejects; check() tells). */
  async settled(): Promise<void> {
    await this.syncing;
  }
}
