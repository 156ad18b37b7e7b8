import type { Hash } from 'node:crypto';
import type { FileHandle } from 'node:fs/promises';
import { EarlySync } from './early-sync.ts';
import { WRITE_BATCH } from './hashing-writer.ts';

/**
 * rportd's staging writer: hashes each chunk as it arrives and writes the chunks themselves, gathered to
 * WRITE_BATCH bytes per writev, one batch written while the next gathers. A data sync starts every
 * SYNC_EVERY bytes (EarlySync).
 *
 * Why not HashingWriter, which copies every chunk into fixed batch buffers: that copy is for the agent,
 * whose SFTP source lends one buffer again and again, and whose kept chunks were promoted by the GC. An
 * HTTP body's chunks are fresh buffers nobody else holds, and here they live only until their batch is
 * written (two batches at most). The copy was a visible share of rportd's CPU per upload
 * (docs/benchmarks.md, "Ingest").
 */
export class GatheringWriter {
  size = 0;
  private batch: Uint8Array[] = [];
  private batchBytes = 0;
  /** The last write started; each starts after the one before (no positions: the file's offset moves). */
  private writing: Promise<void> = Promise.resolve();
  private readonly sync: EarlySync;

  constructor(
    private readonly file: FileHandle,
    private readonly hashes: Hash[],
    private readonly batchLimit = WRITE_BATCH,
  ) {
    this.sync = new EarlySync(file);
  }

  /** Takes a chunk, which must not change afterwards; waits only when a batch is full and the one before is still being written. */
  async add(chunk: Uint8Array): Promise<void> {
    for (const h of this.hashes) h.update(chunk);
    this.size += chunk.byteLength;
    this.batch.push(chunk);
    this.batchBytes += chunk.byteLength;
    if (this.batchBytes >= this.batchLimit) await this.flush();
  }

  /** Writes what is left and waits for every write; throws the first write or sync error. */
  async finish(): Promise<void> {
    await this.flush();
    await this.writing;
    await this.sync.settled();
    this.sync.check();
  }

  /** After a failure: lets the writes in flight settle (their errors are not this one's), so the file can be closed. */
  async abandon(): Promise<void> {
    this.batch = [];
    this.batchBytes = 0;
    await this.writing.catch(() => undefined);
    await this.sync.settled();
  }

  /** Starts writing the gathered batch after the write before it, then waits for that one: one batch in flight. */
  private async flush(): Promise<void> {
    this.sync.check();
    if (this.batch.length === 0) return;
    const [batch, bytes, previous] = [this.batch, this.batchBytes, this.writing];
    this.batch = [];
    this.batchBytes = 0;
    // A failed write fails every later one (then() passes the rejection on), so no batch lands after a gap.
    const write = previous.then(() => writevAll(this.file, batch));
    // Awaited by the next flush or by finish/abandon; handled here so it never counts as unhandled meanwhile.
    write.catch(() => undefined);
    this.writing = write;
    this.sync.wrote(bytes, write);
    await previous;
  }
}

/** writev until every byte is written (a short write resumes where it stopped). */
async function writevAll(file: FileHandle, chunks: Uint8Array[]): Promise<void> {
  let rest = chunks;
  while (rest.length > 0) {
    let { bytesWritten } = await file.writev(rest);
    let i = 0;
    while (i < rest.length && bytesWritten >= rest[i].byteLength) bytesWritten -= rest[i++].byteLength;
    rest = rest.slice(i);
    if (bytesWritten > 0) rest[0] = rest[0].subarray(bytesWritten);
  }
}
