import type { Hash } from 'node:crypto';
import type { FileHandle } from 'node:fs/promises';

/** Bytes gathered before one write: few thread-pool round trips, and memory stays at about twice this. */
export const WRITE_BATCH = 1024 * 1024;
/** Bytes written between early data syncs: write-back runs during the transfer, so the final fsync finds little left to flush. */
export const SYNC_EVERY = 16 * 1024 * 1024;
/** Above this many pieces a batch is joined into one buffer rather than handed to writev as is. */
const MAX_IOVECS = 64;

/**
 * Hashes every chunk as it arrives and writes the chunks to a file in batches of about WRITE_BATCH,
 * keeping one batch's write in flight while the next one is hashed, so that hashing overlaps the disk,
 * and starting a data sync every SYNC_EVERY bytes so that the caller's final fsync is short.
 * Holds at most one batch being written and one being gathered; chunks are kept until written, so a
 * source must not reuse a buffer it yielded (Node streams never do).
 */
export class HashingWriter {
  private batch: Uint8Array[] = [];
  private batchBytes = 0;
  private writing: Promise<void> = Promise.resolve();
  private syncing: Promise<void> | undefined;
  private unsynced = 0;
  private syncError: unknown;
  size = 0;

  constructor(
    private readonly file: FileHandle,
    private readonly hashes: Hash[],
    private readonly batchBytesMax = WRITE_BATCH,
  ) {}

  /** Takes a chunk; waits only when a full batch has to wait for the previous write. */
  async add(chunk: Uint8Array): Promise<void> {
    for (const h of this.hashes) h.update(chunk);
    this.size += chunk.byteLength;
    this.batch.push(chunk);
    this.batchBytes += chunk.byteLength;
    if (this.batchBytes >= this.batchBytesMax) await this.flush();
  }

  /** Writes what is left and waits for every write. */
  async finish(): Promise<void> {
    await this.flush();
    await this.writing;
    await this.syncing;
    if (this.syncError) throw this.syncError;
  }

  /** After a failure: lets the write in flight settle (its error is not this one's), so the file can be closed. */
  async abandon(): Promise<void> {
    this.batch = [];
    await this.writing.catch(() => undefined);
    await this.syncing;
  }

  private async flush(): Promise<void> {
    await this.writing;
    if (this.syncError) throw this.syncError;
    if (this.batchBytes === 0) return;
    const pieces = this.batch.length > MAX_IOVECS ? [Buffer.concat(this.batch)] : this.batch;
    this.batch = [];
    this.batchBytes = 0;
    this.writing = writevAll(this.file, pieces);
    // Awaited at the next flush or at finish/abandon; handled here so it never counts as unhandled meanwhile.
    this.writing.catch(() => undefined);
    this.unsynced += pieces.reduce((n, p) => n + p.byteLength, 0);
    if (this.unsynced >= SYNC_EVERY && !this.syncing) {
      // Not a durability point (the caller still fsyncs at the end): it only starts write-back early, beside the next writes.
      // Its error is kept, not dropped: Linux reports a write-back error to an fd only once.
      this.unsynced = 0;
      this.syncing = this.writing
        .then(() => this.file.datasync())
        .then(
          () => void (this.syncing = undefined),
          (e: unknown) => void ((this.syncError ??= e), (this.syncing = undefined)),
        );
    }
  }
}

/** writev until every byte is written (a short write resumes where it stopped). */
async function writevAll(file: FileHandle, pieces: Uint8Array[]): Promise<void> {
  let rest = pieces;
  while (rest.length > 0) {
    let { bytesWritten } = await file.writev(rest);
    while (rest.length > 0 && bytesWritten >= rest[0].byteLength) {
      bytesWritten -= rest[0].byteLength;
      rest = rest.slice(1);
    }
    if (rest.length > 0 && bytesWritten > 0) rest = [rest[0].subarray(bytesWritten), ...rest.slice(1)];
  }
}
