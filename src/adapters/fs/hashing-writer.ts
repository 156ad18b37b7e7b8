import type { Hash } from 'node:crypto';
import type { FileHandle } from 'node:fs/promises';

/** Bytes gathered before one write: few thread-pool round trips; the writer holds two of these buffers. */
export const WRITE_BATCH = 1024 * 1024;
/** Bytes written between early data syncs: write-back runs during the transfer, so the final fsync finds little left to flush. */
export const SYNC_EVERY = 16 * 1024 * 1024;

/**
 * Hashes every chunk as it arrives and copies it into one of two fixed batch buffers of WRITE_BATCH
 * bytes; a full batch is written while the other one fills, so hashing overlaps the disk. A data sync
 * starts every SYNC_EVERY bytes so that the caller's final fsync is short.
 *
 * Why copy: the caller's chunk is free to be reused or dropped as soon as add() resolves. A writer that
 * kept the chunks until written made every chunk outlive a young-generation GC, so V8 promoted them and
 * freed them only at a full GC; a 1 GiB transfer then floated tens of MB of dead buffers (issue 4,
 * docs/benchmarks.md "Agent memory"). One memcpy per byte costs far less than that.
 */
export class HashingWriter {
  private readonly buffers: [Buffer, Buffer];
  private current = 0;
  private filled = 0;
  private writing: Promise<void> = Promise.resolve();
  private syncing: Promise<void> | undefined;
  private unsynced = 0;
  private syncError: unknown;
  size = 0;

  constructor(
    private readonly file: FileHandle,
    private readonly hashes: Hash[],
    batchBytes = WRITE_BATCH,
  ) {
    this.buffers = [Buffer.allocUnsafe(batchBytes), Buffer.allocUnsafe(batchBytes)];
  }

  /** Takes a chunk (copied: the caller may reuse it once this resolves); waits only when a full batch waits for the previous write. */
  async add(chunk: Uint8Array): Promise<void> {
    for (const h of this.hashes) h.update(chunk);
    this.size += chunk.byteLength;
    let at = 0;
    while (at < chunk.byteLength) {
      const target = this.buffers[this.current];
      const n = Math.min(target.length - this.filled, chunk.byteLength - at);
      target.set(chunk.subarray(at, at + n), this.filled);
      this.filled += n;
      at += n;
      if (this.filled === target.length) await this.flush();
    }
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
    this.filled = 0;
    await this.writing.catch(() => undefined);
    await this.syncing;
  }

  /** Starts writing the current batch once the previous write is done, and switches to the other buffer. */
  private async flush(): Promise<void> {
    await this.writing;
    if (this.syncError) throw this.syncError;
    if (this.filled === 0) return;
    const batch = this.buffers[this.current].subarray(0, this.filled);
    this.current = 1 - this.current;
    this.filled = 0;
    this.writing = writeAll(this.file, batch);
    // Awaited at the next flush or at finish/abandon; handled here so it never counts as unhandled meanwhile.
    this.writing.catch(() => undefined);
    this.unsynced += batch.byteLength;
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

/** write until every byte is written (a short write resumes where it stopped). */
async function writeAll(file: FileHandle, batch: Buffer): Promise<void> {
  let rest = batch;
  while (rest.length > 0) {
    const { bytesWritten } = await file.write(rest, 0, rest.length);
    rest = rest.subarray(bytesWritten);
  }
}
