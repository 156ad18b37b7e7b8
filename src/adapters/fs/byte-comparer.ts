import { constants as C, type Stats } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { giveBatchBuffer, takeBatchBuffer, WRITE_BATCH, type BatchComparer } from './hashing-writer.ts';

const READ_NO_FOLLOW = C.O_RDONLY | C.O_NOFOLLOW | C.O_NONBLOCK;
/** Pieces up to this size are read into buffers of their own size; larger ones into the writers' spare batch buffers. */
const SMALL = 64 * 1024;

/** The old file, open, and its status when opened; undefined when it cannot be compared. */
type Old = { file: FileHandle; before: Stats } | undefined;

/**
 * Tells whether a temp file being written holds exactly the bytes of an existing file (the one a
 * forced push replaces), by comparing each batch the HashingWriter writes with the same range of the
 * old file as it goes. The batch is compared while it is still in memory, so the temp file is never
 * read back, and the old file is read once: in a fan-out every forced push of a same-size file asks
 * this, on the one thread that runs every agent.
 *
 * The old file is opened at the first batch (for a file of one batch, once the fetch is over), without
 * following a final link, and must be a regular file. Anything that keeps the answer from being sure
 * counts as different: a read error, a short read, or, over more than one batch, the old file changed
 * (size, mtime or ctime) between the first batch and finish().
 */
export class ByteComparer implements BatchComparer {
  private same = true;
  private opened: Promise<Old> | undefined;
  private batches = 0;

  constructor(private readonly path: string) {}

  /** Compares batch, the bytes at pos of the file being written, with the old file's; never rejects. */
  async check(batch: Uint8Array, pos: number): Promise<void> {
    this.batches += 1;
    const old = await this.old();
    if (!this.same || !old || pos + batch.byteLength > old.before.size) return void (this.same = false);
    const pooled = batch.byteLength > SMALL && batch.byteLength <= WRITE_BATCH;
    const bytes = pooled ? takeBatchBuffer() : Buffer.allocUnsafe(batch.byteLength);
    try {
      // A regular file gives every byte asked for unless it ended: a short read means it shrank.
      const { bytesRead } = await old.file.read(bytes, 0, batch.byteLength, pos);
      const n = batch.byteLength;
      if (bytesRead !== n || bytes.compare(batch, 0, n, 0, n) !== 0) this.same = false;
    } catch {
      this.same = false;
    } finally {
      if (pooled) giveBatchBuffer(bytes);
    }
  }

  /** After every check settled: whether the old file held exactly the size bytes written. Closes it. */
  async finish(size: number): Promise<boolean> {
    try {
      const old = await this.old();
      if (!this.same || !old || old.before.size !== size) return false;
      // One batch (or none) was read right after its stat: nothing to change in between.
      if (this.batches <= 1) return true;
      const now = await old.file.stat();
      return (
        now.size === old.before.size &&
        now.mtimeMs === old.before.mtimeMs &&
        now.ctimeMs === old.before.ctimeMs
      );
    } catch {
      return false;
    } finally {
      await this.close();
    }
  }

  /** Lets go of the old file (finish does; a failed write calls this). */
  async close(): Promise<void> {
    const old = await this.opened;
    this.opened = Promise.resolve(undefined);
    await old?.file.close().catch(() => undefined);
  }

  /** Opened once, at the first use; never rejects. */
  private old(): Promise<Old> {
    return (this.opened ??= openOld(this.path));
  }
}

async function openOld(path: string): Promise<Old> {
  let file: FileHandle | undefined;
  try {
    file = await open(path, READ_NO_FOLLOW);
    const before = await file.stat();
    if (before.isFile()) return { file, before };
  } catch {
    // Unreadable, missing, a link or not a file: cannot be compared.
  }
  await file?.close().catch(() => undefined);
  return undefined;
}
