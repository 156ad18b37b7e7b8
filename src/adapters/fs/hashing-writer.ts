import type { Hash } from 'node:crypto';
import type { FileHandle } from 'node:fs/promises';
import { SpareBuffers } from '../system/spare-buffers.ts';
import { EarlySync } from './early-sync.ts';

/** Batch buffers kept between files, shared by every HashingWriter of the process (64 MiB at most, none when idle). */
const sharedBatchBuffers = new SpareBuffers(64 * 1024 * 1024);

/** Bytes gathered before one write: few thread-pool round trips; the writer holds two of these buffers. */
export const WRITE_BATCH = 1024 * 1024;

/**
 * A WRITE_BATCH buffer from the writers' spare list, for other passes over a file's bytes (the byte
 * comparison of a forced push): a fresh buffer per file made the collector run for each push.
 */
export const takeBatchBuffer = (): Buffer => sharedBatchBuffers.take(WRITE_BATCH);
/** Gives a buffer of takeBatchBuffer back; the caller must not touch it afterwards. */
export const giveBatchBuffer = (b: Buffer): void => sharedBatchBuffers.give(b);

/**
 * Hashes whole batches somewhere else (a worker thread, see HashWorker): the writer hands it each
 * batch as it starts writing it, and refills that buffer only once both the write and the hash are done.
 */
export interface BatchHasher {
  /** A batch buffer the hasher can read where it runs (SharedArrayBuffer-backed for a thread). */
  allocate(bytes: number): Buffer;
  /** Hashes the batch, after every earlier one; it stays unchanged until this settles. last: no batch follows. */
  update(batch: Buffer, last: boolean): Promise<void>;
}

/**
 * Compares each batch with the same range of another file as it is written (ByteComparer): the batch
 * stays unchanged until check() settles, which never rejects.
 */
export interface BatchComparer {
  check(batch: Uint8Array, pos: number): Promise<void>;
}

/**
 * Hashes every chunk as it arrives (or, given a BatchHasher, each full batch off this thread) and
 * copies it into a ring of fixed batch buffers (two by default) of WRITE_BATCH bytes; a full batch is
 * written (and handed to the BatchHasher) while the next one fills, so hashing overlaps the disk. A
 * data sync starts every SYNC_EVERY bytes so that the caller's final fsync is short.
 *
 * Why copy: the caller's chunk is free to be reused or dropped as soon as add() resolves. A writer that
 * kept the chunks until written made every chunk outlive a young-generation GC, so V8 promoted them and
 * freed them only at a full GC; a long transfer then floated more dead buffers than the agent's memory
 * budget allows (issue 4, docs/benchmarks.md, "Agent memory"). One memcpy per byte costs far less.
 */
export class HashingWriter {
  private readonly buffers: (Buffer | undefined)[];
  private readonly batchBytes: number;
  /** Per buffer: settles when its last batch is written and hashed, so it may be refilled. */
  private readonly busy: Promise<void>[];
  private current = 0;
  private filled = 0;
  /** The last write started: writes go one after another, in order (no positions: the file's offset moves). */
  private writing: Promise<void> = Promise.resolve();
  private readonly sync: EarlySync;
  private released = false;
  size = 0;
  /** Bytes handed to writes so far: where the next batch starts in the file. */
  private flushed = 0;

  private readonly hashes: Hash[];
  private readonly batchHasher: BatchHasher | undefined;

  constructor(
    private readonly file: FileHandle,
    hashing: Hash[] | BatchHasher,
    batchBytes = WRITE_BATCH,
    batchCount = 2,
    /** Compares every batch with another file's bytes at the same place, before its buffer is refilled. */
    private readonly comparer?: BatchComparer,
  ) {
    this.hashes = Array.isArray(hashing) ? hashing : [];
    this.batchHasher = Array.isArray(hashing) ? undefined : hashing;
    // A BatchHasher gets every buffer now (its thread maps them once); plain buffers are taken when first
    // filled, so a file of one batch or less (most config files and certificates) takes only one.
    const count = Math.max(2, batchCount);
    this.buffers = Array.from({ length: count }, (_, i) =>
      this.batchHasher
        ? this.batchHasher.allocate(batchBytes)
        : i === 0
          ? sharedBatchBuffers.take(batchBytes)
          : undefined,
    );
    this.busy = this.buffers.map(() => Promise.resolve());
    this.batchBytes = batchBytes;
    this.sync = new EarlySync(file);
  }

  /** The current batch buffer, taken from the spare list on its first use. */
  private get target(): Buffer {
    return (this.buffers[this.current] ??= sharedBatchBuffers.take(this.batchBytes));
  }

  /** Takes a chunk (copied: the caller may reuse it once this resolves); waits only when the next buffer is still being written or hashed. */
  async add(chunk: Uint8Array): Promise<void> {
    for (const h of this.hashes) h.update(chunk);
    this.size += chunk.byteLength;
    let at = 0;
    while (at < chunk.byteLength) {
      // A full batch is flushed when more bytes come, not at once: finish() then knows the last batch (BatchHasher's `last`).
      if (this.filled === this.batchBytes) await this.flush(false);
      const target = this.target;
      const n = Math.min(target.length - this.filled, chunk.byteLength - at);
      target.set(chunk.subarray(at, at + n), this.filled);
      this.filled += n;
      at += n;
    }
  }

  /** Writes what is left and waits for every write and hash. */
  async finish(): Promise<void> {
    await this.flush(true);
    await Promise.all(this.busy);
    await this.sync.settled();
    this.sync.check();
    this.release();
  }

  /** After a failure: lets the writes and hashes in flight settle (their errors are not this one's), so the file can be closed. */
  async abandon(): Promise<void> {
    this.filled = 0;
    await Promise.allSettled(this.busy);
    await this.sync.settled();
    this.release();
  }

  /** Every write and hash is over: the batch buffers go back for the next writer (not the hasher's own). */
  private release(): void {
    if (this.batchHasher || this.released) return;
    this.released = true;
    for (const b of this.buffers) if (b) sharedBatchBuffers.give(b);
  }

  /** Starts writing (and hashing) the current batch after the writes before it, and moves to the next buffer once it is free. */
  private async flush(last: boolean): Promise<void> {
    this.sync.check();
    if (this.filled === 0) return;
    const batch = this.target.subarray(0, this.filled);
    // A failed write fails every later one (then() passes the rejection on), so no batch lands after a gap.
    const write = this.writing.then(() => writeAll(this.file, batch));
    this.writing = write;
    let done = this.batchHasher ? bothSettled(write, this.batchHasher.update(batch, last)) : write;
    if (this.comparer) done = bothSettled(done, this.comparer.check(batch, this.flushed));
    this.flushed += batch.byteLength;
    // Awaited when this buffer comes round again or at finish/abandon; handled here so it never counts as unhandled meanwhile.
    done.catch(() => undefined);
    this.busy[this.current] = done;
    this.current = (this.current + 1) % this.buffers.length;
    this.filled = 0;
    this.sync.wrote(batch.byteLength, write);
    await this.busy[this.current];
  }
}

/** Waits for both (the batch is in use until both are done), then fails with the first failure. */
async function bothSettled(a: Promise<void>, b: Promise<void>): Promise<void> {
  const [x, y] = await Promise.allSettled([a, b]);
  if (x.status === 'rejected') throw x.reason;
  if (y.status === 'rejected') throw y.reason;
}

/** write until every byte is written (a short write resumes where it stopped). */
async function writeAll(file: FileHandle, batch: Buffer): Promise<void> {
  let rest = batch;
  while (rest.length > 0) {
    const { bytesWritten } = await file.write(rest, 0, rest.length);
    rest = rest.subarray(bytesWritten);
  }
}
