import { constants as C, type Stats } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { giveBatchBuffer, takeBatchBuffer, WRITE_BATCH, type BatchComparer } from './hashing-writer.ts';

const READ_NO_FOLLOW = C.O_RDONLY | C.O_NOFOLLOW | C.O_NONBLOCK;
/** Pieces up to this size are read into buffers of their own size; larger ones into the writers' spare batch buffers. */
const SMALL = 64 * 1024;

/**
 * Tells whether a temp file being written holds exactly the bytes of an existing file (the one a
 * forced push replaces), by comparing each batch the HashingWriter writes with the same range of the
 * old file as it goes. The batch is compared while it is still in memory, so the temp file is never
 * read back, and the old file is read once: in a fan-out every forced push of a same-size file asks
 * this, on the one thread that runs every agent.
 *
 * The old file is opened without following a final link and must be a regular file. Anything that
 * keeps the answer from being sure counts as different: a read error, a short read, or the old file
 * changed (size, mtime or ctime) between its opening and finish().
 */
export class ByteComparer implements BatchComparer {
  private same = true;

  private constructor(
    private file: FileHandle | undefined,
    private readonly before: Stats | undefined,
  ) {}

  /** Never throws: an old file that cannot be opened or is not a regular file compares as different. */
  static async open(path: string): Promise<ByteComparer> {
    let file: FileHandle | undefined;
    try {
      file = await open(path, READ_NO_FOLLOW);
      const before = await file.stat();
      if (before.isFile()) return new ByteComparer(file, before);
    } catch {
      // Unreadable, missing, a link or not a file: different, below.
    }
    await file?.close().catch(() => undefined);
    return new ByteComparer(undefined, undefined);
  }

  /** Compares batch, the bytes at pos of the file being written, with the old file's; never rejects. */
  async check(batch: Uint8Array, pos: number): Promise<void> {
    const file = this.file;
    const size = this.before?.size ?? 0;
    if (!this.same || !file || pos + batch.byteLength > size) return void (this.same = false);
    const pooled = batch.byteLength > SMALL && batch.byteLength <= WRITE_BATCH;
    const old = pooled ? takeBatchBuffer() : Buffer.allocUnsafe(batch.byteLength);
    try {
      // A regular file gives every byte asked for unless it ended: a short read means it shrank.
      const { bytesRead } = await file.read(old, 0, batch.byteLength, pos);
      const n = batch.byteLength;
      if (bytesRead !== n || old.compare(batch, 0, n, 0, n) !== 0) this.same = false;
    } catch {
      this.same = false;
    } finally {
      if (pooled) giveBatchBuffer(old);
    }
  }

  /** After every check settled: whether the old file held exactly the size bytes written, unchanged since it was opened. Closes it. */
  async finish(size: number): Promise<boolean> {
    const before = this.before;
    try {
      if (!this.same || !this.file || !before || before.size !== size) return false;
      const now = await this.file.stat();
      return now.size === before.size && now.mtimeMs === before.mtimeMs && now.ctimeMs === before.ctimeMs;
    } catch {
      return false;
    } finally {
      await this.close();
    }
  }

  /** Lets go of the old file (finish does; a failed write calls this). */
  async close(): Promise<void> {
    const file = this.file;
    this.file = undefined;
    await file?.close().catch(() => undefined);
  }
}
