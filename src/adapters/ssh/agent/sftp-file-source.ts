import type { SftpLease } from './sftp-sessions.ts';
import type { FileSource } from '../../../ports/file-source.ts';
import type { PushRequest } from '../../../domain/push-request.ts';
import { SpareBuffers } from '../../system/spare-buffers.ts';

/** READ buffers kept between transfers, shared by every SftpFileSource of the process (64 MiB at most, none when idle). */
const sharedReadBuffers = new SpareBuffers(64 * 1024 * 1024);

/** Where the SFTP sessions come from: the agent's live connection (shared sessions, kept open between pushes). */
interface SftpLink {
  openSftp(): Promise<SftpLease>;
  /** The READ size agreed with the server. */
  readonly maxRead: number;
  /** Runs send with the connection corked, so the READs it sends leave in one write. */
  corked?<T>(send: () => T): T;
}

type Result<T> = { ok: true; value: T } | { ok: false; error: Error };

/** Reads in flight per transfer: 8 x 254 KiB ~ 2 MiB, ssh2's channel window, so the pipe stays full. */
export const READS_IN_FLIGHT = 8;

/**
 * SFTP calls of one transfer still waiting for an answer. ssh2 never answers a request sent on a
 * closing channel, so a cancel or the channel's close fails every waiting call (and each later one)
 * here, and the fetch ends instead of hanging. Failures become values, so abandoned calls never
 * surface as unhandled rejections; nothing outlives its call, so no answered chunk is kept alive.
 */
class PendingCalls {
  private failure: Error | undefined;
  private readonly waiting = new Set<(e: Error) => void>();

  run<T>(call: (done: (err: Error | null | undefined, value?: T) => void) => void): Promise<Result<T>> {
    if (this.failure) return Promise.resolve({ ok: false, error: this.failure });
    return new Promise((resolve) => {
      const fail = (error: Error): void => resolve({ ok: false, error });
      this.waiting.add(fail);
      call((err, value) => {
        this.waiting.delete(fail);
        resolve(err ? { ok: false, error: err } : { ok: true, value: value as T });
      });
    });
  }

  failAll(error: Error): void {
    this.failure ??= error;
    for (const fail of this.waiting) fail(this.failure);
    this.waiting.clear();
  }
}

/**
 * Agent side: streams a staged file from the server by SFTP with several large reads in flight,
 * in order, never holding more than READS_IN_FLIGHT reads in memory; the consumer's pace sets the pace.
 * Each yielded chunk is lent: its buffer carries a later READ once the consumer asks for the next chunk.
 */
export class SftpFileSource implements FileSource {
  private readonly active = new Map<string, Set<() => void>>();

  constructor(
    private readonly link: SftpLink,
    private readonly readsInFlight = READS_IN_FLIGHT,
    private readonly received: (bytes: number) => void = () => undefined,
    private readonly readBuffers: SpareBuffers = sharedReadBuffers,
  ) {}

  /** The server cancelled this push: fail its fetches now. */
  cancel(sourceName: string): void {
    for (const abort of this.active.get(sourceName) ?? []) abort();
  }

  async *open(request: PushRequest): AsyncIterable<Uint8Array> {
    const { sftp, release } = await this.link.openSftp();
    // ssh2 would split reads at 31952 bytes because its server cannot advertise limits@openssh.com;
    // the server told us its limit in welcome instead (docs/protocol.md, "Read size, on purpose").
    (sftp as unknown as { _maxReadLen: number })._maxReadLen = this.link.maxRead;
    const calls = new PendingCalls();
    let cancelled = false;
    const onClose = (): void => calls.failAll(new Error('the SFTP channel closed'));
    sftp.once('close', onClose);
    // The session is shared and stays open: a cancel fails this transfer's calls, and the finally below closes its handle.
    const abort = (): void => {
      cancelled = true;
      calls.failAll(new Error('the server cancelled the push'));
    };
    const failed = (error: Error): Error =>
      cancelled ? new Error('the server cancelled the push') : named(error, request);
    // READ buffers are reused once the consumer has taken a chunk and asked for the next: a transfer
    // allocates readsInFlight + 1 of them, whatever the file's size (see FileSource: chunks are lent).
    const spare: Buffer[] = [];
    const owned = new Map<ArrayBufferLike, Buffer>();
    const readAt = (position: number, len: number): Promise<Result<Buffer>> =>
      calls.run<Buffer>((done) => {
        let buf = spare.pop();
        if (!buf) owned.set((buf = this.readBuffers.take(this.link.maxRead)).buffer, buf);
        sftp.read(handle!, buf, 0, len, position, (err, bytesRead) => done(err, buf.subarray(0, bytesRead)));
      });
    const giveBack = (chunk: Buffer): void => {
      const buf = owned.get(chunk.buffer);
      if (buf) spare.push(buf);
    };
    const set = this.active.get(request.sourceName) ?? new Set();
    set.add(abort);
    this.active.set(request.sourceName, set);
    let handle: Buffer | undefined;
    let over = false;
    try {
      // A handle granted after this transfer gave up (a cancel while OPEN was pending) is closed at once: on a shared session
      // it would otherwise hold one of the session's handles and a server transfer slot until the session ends.
      const opened = await calls.run<Buffer>((done) =>
        sftp.open(`/${request.sourceName}`, 'r', (err, h) => {
          if (!err && over) sftp.close(h, () => undefined);
          done(err, h);
        }),
      );
      if (!opened.ok) throw failed(opened.error);
      handle = opened.value;
      // The push request gives the staged file's size (no FSTAT round trip per push); a file that
      // turns out shorter fails below, and a longer or different one fails the agent's md5 check.
      const size = request.size;
      const inFlight: Promise<Result<Buffer>>[] = [];
      let next = 0;
      const issueAll = (): void => {
        while (!cancelled && inFlight.length < this.readsInFlight && next < size) {
          const len = Math.min(this.link.maxRead, size - next);
          inFlight.push(readAt(next, len));
          next += len;
        }
      };
      // The first call sends a burst of READs (all of a small file): corked, they leave in one socket write.
      const issue = (): void => (this.link.corked ? this.link.corked(issueAll) : issueAll());
      issue();
      let position = 0;
      while (inFlight.length > 0) {
        const r = await inFlight.shift()!;
        if (!r.ok || cancelled) throw failed(r.ok ? new Error('cancelled') : r.error);
        if (r.value.length === 0)
          throw new Error(`${request.sourceName} ended early at byte ${position} of ${size}`);
        let data = r.value;
        const wanted = Math.min(this.link.maxRead, size - position);
        // A short read is legal in SFTP: fetch the rest of that slice before moving on, so order holds.
        while (data.length < wanted) {
          const more = await readAt(position + data.length, wanted - data.length);
          if (!more.ok || cancelled) throw failed(more.ok ? new Error('cancelled') : more.error);
          if (more.value.length === 0)
            throw new Error(`${request.sourceName} ended early at byte ${position + data.length} of ${size}`);
          const joined = Buffer.concat([data, more.value]);
          giveBack(data);
          giveBack(more.value);
          data = joined;
        }
        position += data.length;
        this.received(data.length);
        issue();
        yield data;
        giveBack(data);
      }
      if (cancelled) throw new Error('the server cancelled the push');
    } finally {
      over = true;
      // Only buffers back from ssh2 go on: one still in a READ in flight (a failed or cancelled fetch) may yet be written by ssh2.
      for (const buf of spare.splice(0)) this.readBuffers.give(buf);
      set.delete(abort);
      if (set.size === 0) this.active.delete(request.sourceName);
      sftp.off('close', onClose);
      if (handle) sftp.close(handle, () => undefined);
      release();
    }
  }
}

function named(err: Error, request: PushRequest): Error {
  return new Error(`SFTP ${request.sourceName}: ${err.message}`);
}
