import type { SFTPWrapper } from 'ssh2';
import type { FileSource } from '../../ports/file-source.ts';
import type { PushRequest } from '../../domain/push-request.ts';

/** Where the SFTP channels come from: the agent's live connection. */
export interface SftpLink {
  openSftp(): Promise<SFTPWrapper>;
  /** The READ size agreed with the server. */
  readonly maxRead: number;
}

type ReadResult = { ok: true; data: Buffer } | { ok: false; error: Error };

/** Reads in flight per transfer: 8 x 254 KiB ~ 2 MiB, ssh2's channel window, so the pipe stays full. */
export const READS_IN_FLIGHT = 8;

/**
 * Agent side: streams a staged file from the server by SFTP with several large reads in flight,
 * in order, never holding more than READS_IN_FLIGHT reads in memory; the consumer's pace sets the pace.
 */
export class SftpFileSource implements FileSource {
  private readonly active = new Map<string, Set<() => void>>();

  constructor(
    private readonly link: SftpLink,
    private readonly readsInFlight = READS_IN_FLIGHT,
  ) {}

  /** The server cancelled this push: fail its fetches now. */
  cancel(sourceName: string): void {
    for (const abort of this.active.get(sourceName) ?? []) abort();
  }

  async *open(request: PushRequest): AsyncIterable<Uint8Array> {
    const sftp = await this.link.openSftp();
    // ssh2 would split reads at 31952 bytes because its server cannot advertise limits@openssh.com;
    // the server told us its limit in welcome instead (docs/protocol.md, "Read size, on purpose").
    (sftp as unknown as { _maxReadLen: number })._maxReadLen = this.link.maxRead;
    let cancelled = false;
    // ssh2 never answers a request sent on a closing SFTP channel, so every wait also races this:
    // it settles on a cancel or when the channel closes, and the fetch fails instead of hanging.
    let stop!: (r: ReadResult) => void;
    const stopped = new Promise<ReadResult>((resolve) => (stop = resolve));
    sftp.once('close', () => stop({ ok: false, error: new Error('the SFTP channel closed') }));
    const abort = (): void => {
      cancelled = true;
      stop({ ok: false, error: new Error('the server cancelled the push') });
      sftp.end();
    };
    const failOnStop = stopped.then((r) => Promise.reject(r.ok ? new Error('stopped') : r.error));
    failOnStop.catch(() => undefined); // raced below; never unhandled on its own
    const set = this.active.get(request.sourceName) ?? new Set();
    set.add(abort);
    this.active.set(request.sourceName, set);
    let handle: Buffer | undefined;
    try {
      handle = await Promise.race([
        new Promise<Buffer>((resolve, reject) => sftp.open(`/${request.sourceName}`, 'r', (err, h) => (err ? reject(named(err, request)) : resolve(h)))),
        failOnStop,
      ]);
      const opened = handle;
      const size = await Promise.race([
        new Promise<number>((resolve, reject) => sftp.fstat(opened, (err, st) => (err ? reject(named(err, request)) : resolve(st.size)))),
        failOnStop,
      ]);
      const inFlight: Promise<ReadResult>[] = [];
      let next = 0;
      const issue = (): void => {
        while (!cancelled && inFlight.length < this.readsInFlight && next < size) {
          const len = Math.min(this.link.maxRead, size - next);
          inFlight.push(readAt(sftp, opened, next, len));
          next += len;
        }
      };
      issue();
      let position = 0;
      while (inFlight.length > 0) {
        const r = await Promise.race([inFlight.shift()!, stopped]);
        if (cancelled) throw new Error('the server cancelled the push');
        if (!r.ok) throw named(r.error, request);
        if (r.data.length === 0) throw new Error(`${request.sourceName} ended early at byte ${position} of ${size}`);
        let data = r.data;
        const wanted = Math.min(this.link.maxRead, size - position);
        // A short read is legal in SFTP: fetch the rest of that slice before moving on, so order holds.
        while (data.length < wanted) {
          const more = await Promise.race([readAt(sftp, opened, position + data.length, wanted - data.length), stopped]);
          if (cancelled) throw new Error('the server cancelled the push');
          if (!more.ok) throw named(more.error, request);
          if (more.data.length === 0) throw new Error(`${request.sourceName} ended early at byte ${position + data.length} of ${size}`);
          data = Buffer.concat([data, more.data]);
        }
        position += data.length;
        issue();
        yield data;
      }
      if (cancelled) throw new Error('the server cancelled the push');
    } finally {
      set.delete(abort);
      if (set.size === 0) this.active.delete(request.sourceName);
      if (handle) sftp.close(handle, () => undefined);
      sftp.end();
    }
  }
}

/** One READ; failures become values so that abandoned reads never surface as unhandled rejections. */
function readAt(sftp: SFTPWrapper, handle: Buffer, position: number, len: number): Promise<ReadResult> {
  return new Promise((resolve) => {
    const buf = Buffer.allocUnsafe(len);
    sftp.read(handle, buf, 0, len, position, (err, bytesRead) =>
      resolve(err ? { ok: false, error: err } : { ok: true, data: buf.subarray(0, bytesRead) }),
    );
  });
}

function named(err: Error, request: PushRequest): Error {
  return new Error(`SFTP ${request.sourceName}: ${err.message}`);
}
