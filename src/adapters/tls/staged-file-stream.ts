/**
 * The body of a TLS fetch: the status line and the staged file's bytes, written to the socket with
 * the pace the client reads at. Apart from the listener, which decides who may fetch.
 */
import type { TLSSocket } from 'node:tls';
import type { GrantedFile } from '../ssh/server/push-grants.ts';
import type { ReadBuffers } from '../ssh/server/read-buffers.ts';

export interface StreamParts {
  /** The listener's pool: bounds the file bytes read ahead server-wide. */
  buffers: ReadBuffers;
  readSize: number;
  /** Told every byte handed to the socket. */
  sent(bytes: number): void;
}

/**
 * `OK <size>` and the file's bytes, read ahead by one buffer. A client that stops reading stops the
 * reads: a write that fills the socket's buffer waits for 'drain', so a connection holds at most
 * three buffers (one read ahead, two written) whatever the file's size.
 */
export async function streamStagedFile(
  socket: TLSSocket,
  file: GrantedFile,
  parts: StreamParts,
): Promise<void> {
  const { buffers, readSize: step } = parts;
  const size = file.stats.size;
  const gone = new Promise<void>((resolve) => socket.once('close', resolve));
  const send = async (chunk: Buffer, done?: () => void): Promise<void> => {
    parts.sent(chunk.length);
    if (!socket.write(chunk, done)) await Promise.race([new Promise((r) => socket.once('drain', r)), gone]);
  };
  await send(Buffer.from(`OK ${size}\n`));
  if (file.held) {
    // Already in memory: written as views, no copy and no read.
    for (let at = 0; at < size && !socket.destroyed; at += step)
      await send(file.held.bytes.subarray(at, Math.min(size, at + step)));
    return;
  }
  const fh = file.fh!;
  const read = async (at: number): Promise<{ buf: Buffer; n: number }> => {
    const buf = await buffers.take();
    try {
      const { bytesRead } = await fh.read(buf, 0, Math.min(step, size - at), at);
      if (bytesRead === 0) throw new Error(`the staged file ended at byte ${at} of ${size}`);
      return { buf, n: bytesRead };
    } catch (e) {
      buffers.give(buf);
      throw e;
    }
  };
  let at = 0;
  let next: Promise<{ buf: Buffer; n: number }> | undefined = read(0);
  while (next) {
    const { buf, n } = await next;
    at += n;
    next = at < size && !socket.destroyed ? read(at) : undefined;
    next?.catch(() => undefined);
    if (socket.destroyed) {
      buffers.give(buf);
      await next?.then(({ buf: b }) => buffers.give(b)).catch(() => undefined);
      return;
    }
    // The buffer goes back once the socket is done with it (written or destroyed: Node calls back either way).
    await send(buf.subarray(0, n), () => buffers.give(buf));
  }
}
