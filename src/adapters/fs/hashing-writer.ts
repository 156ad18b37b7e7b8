import type { Hash } from 'node:crypto';
import type { FileHandle } from 'node:fs/promises';
import { SpareBuffers } from '../system/spare-buffers.ts';
import { DIRECT_ALIGN, allocateAligned, isDirectWritable } from './aligned-buffers.ts';
import { EarlySync } from './early-sync.ts';

/**
 * Batch buffers kept between files, shared by every HashingWriter of the process (64 MiB at most, none
 * when idle); page-aligned, so that whole batches can go to the file with O_DIRECT.
 */
const sharedBatchBuffers = new SpareBuffers(64 * 1024 * 1024, 10_000, (size) => allocateAligned(size));

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
 * The same file opened with O_DIRECT, asked for at the first whole batch; undefined when the file
 * system refuses it. The writer closes it.
 */
export type OpenDirect = () => Promise<FileHandle | undefined>;

/**
 * Hashes every chunk as it arrives (or, given a BatchHasher, each full batch off this thread) and
 * copies it into a ring of fixed batch buffers (two by default) of WRITE_BATCH bytes; a full batch is
 * written (and handed to the BatchHasher) while the next one fills, so hashing overlaps the disk. A
 * data sync starts every SYNC_EVERY bytes so that the caller's final fsync is short.
 *
 * Given openDirect, every whole batch goes to the file with O_DIRECT: from the batch buffer to the
 * disk, past the page cache; the last, partial batch goes through the page cache. Why: copying a
 * large push into the page cache was the agent's largest cost per byte, and far more on a virtual
 * machine whose host takes back free memory, where each new page is faulted in again at the host
 * (docs/adr/0010). A package is written once and read
 * once by its installer, so caching it evicts more useful pages for nothing. If the file system
 * refuses O_DIRECT (at open or at a write: EINVAL), that batch and every later one go through the
 * page cache; bytes already written stay, since every write names its offset.
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
  /** The O_DIRECT handle: not asked for yet, being opened, or settled (undefined: none, write through the page cache). */
  private direct: Promise<FileHandle | undefined> | undefined;
  /** Bytes written with O_DIRECT (tests and diagnostics). */
  directBytes = 0;
  /** Set once O_DIRECT was refused: later batches are known to go through the page cache (and count for EarlySync). */
  private directRefused = false;

  private readonly hashes: Hash[];
  private readonly batchHasher: BatchHasher | undefined;

  constructor(
    private readonly file: FileHandle,
    hashing: Hash[] | BatchHasher,
    batchBytes = WRITE_BATCH,
    batchCount = 2,
    /** Compares every batch with another file's bytes at the same place, before its buffer is refilled. */
    private readonly comparer?: BatchComparer,
    /** Opens the file with O_DIRECT for the whole batches (see the class). */
    private readonly openDirect?: OpenDirect,
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
    await this.closeDirect();
    this.sync.check();
    this.release();
  }

  /** After a failure: lets the writes and hashes in flight settle (their errors are not this one's), so the file can be closed. */
  async abandon(): Promise<void> {
    this.filled = 0;
    await Promise.allSettled(this.busy);
    await this.sync.settled();
    await this.closeDirect().catch(() => undefined);
    this.release();
  }

  /** Closes the O_DIRECT handle once every write is over (the caller's fsync on its own handle covers the file). */
  private async closeDirect(): Promise<void> {
    const direct = await this.direct;
    this.direct = Promise.resolve(undefined);
    await direct?.close();
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
    const at = this.flushed;
    const direct =
      this.openDirect !== undefined &&
      !this.directRefused &&
      isDirectWritable(batch) &&
      at % DIRECT_ALIGN === 0;
    // A failed write fails every later one (then() passes the rejection on), so no batch lands after a gap.
    const write = this.writing.then(() =>
      direct ? this.writeDirect(batch, at) : writeAll(this.file, batch, at),
    );
    this.writing = write;
    let done = this.batchHasher ? bothSettled(write, this.batchHasher.update(batch, last)) : write;
    if (this.comparer) done = bothSettled(done, this.comparer.check(batch, this.flushed));
    this.flushed += batch.byteLength;
    // Awaited when this buffer comes round again or at finish/abandon; handled here so it never counts as unhandled meanwhile.
    done.catch(() => undefined);
    this.busy[this.current] = done;
    this.current = (this.current + 1) % this.buffers.length;
    this.filled = 0;
    // Bytes written with O_DIRECT are on their way to the disk already: only the page cache's need an early sync.
    if (!direct) this.sync.wrote(batch.byteLength, write);
    await this.busy[this.current];
  }

  /** Writes a whole aligned batch with O_DIRECT, or through the page cache once the file system refused it. */
  private async writeDirect(batch: Buffer, at: number): Promise<void> {
    this.direct ??= this.openDirect!().catch(() => undefined);
    const handle = await this.direct;
    let written = 0;
    if (!handle) this.directRefused = true;
    else {
      try {
        written = (await handle.write(batch, 0, batch.length, at)).bytesWritten;
        this.directBytes += written;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EINVAL') throw e;
        // The file system takes no O_DIRECT after all: this batch and the rest through the page cache.
        this.directRefused = true;
        this.direct = Promise.resolve(undefined);
        await handle.close().catch(() => undefined);
      }
    }
    // What O_DIRECT did not write (all of it when refused, the rest after a short write, say on a full
    // disk) goes through the page cache, which reports any error.
    if (written < batch.length) await writeAll(this.file, batch.subarray(written), at + written);
  }
}

/** Waits for both (the batch is in use until both are done), then fails with the first failure. */
async function bothSettled(a: Promise<void>, b: Promise<void>): Promise<void> {
  const [x, y] = await Promise.allSettled([a, b]);
  if (x.status === 'rejected') throw x.reason;
  if (y.status === 'rejected') throw y.reason;
}

/** write at offset `at` until every byte is written (a short write resumes where it stopped). */
async function writeAll(file: FileHandle, batch: Buffer, at: number): Promise<void> {
  let [rest, pos] = [batch, at];
  while (rest.length > 0) {
    const { bytesWritten } = await file.write(rest, 0, rest.length, pos);
    rest = rest.subarray(bytesWritten);
    pos += bytesWritten;
  }
}
