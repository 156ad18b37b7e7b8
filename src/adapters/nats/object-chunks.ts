import type { ObjectInfo } from '@nats-io/obj';
import { codedError, natsFailure } from './nats-errors.ts';
import type { NatsLink } from './nats-link.ts';

/**
 * An object's chunks in order, one direct get each, the next asked for only when the caller takes
 * it. The object store's own reader pushes every chunk into an unbounded queue whatever the reader's
 * pace; here a slow disk holds the network back instead, so memory stays one chunk per fetch.
 */
export async function* objectChunks(link: NatsLink, info: ObjectInfo): AsyncGenerator<Uint8Array> {
  const subject = link.chunkSubject(info.nuid);
  let seq = 0;
  let size = 0;
  for (let n = 0; n < info.chunks; n++) {
    let chunk;
    try {
      chunk = await link.manager.direct.getMessage(link.stream, { seq: seq + 1, next_by_subj: subject });
    } catch (e) {
      throw natsFailure(e, link.url, `fetch the staged object ${info.name}`);
    }
    if (!chunk) throw codedError('ENOENT', `staged files: ${info.name} was removed while it was fetched`);
    seq = chunk.seq;
    size += chunk.data.byteLength;
    yield chunk.data;
  }
  if (size !== info.size)
    throw new Error(
      `staged files: ${info.name} has ${size} bytes in its chunks, its metadata says ${info.size}`,
    );
}

/** The object's sha256 in hex, from its `SHA-256=<base64url>` digest. */
export function sha256Hex(info: ObjectInfo): string {
  const prefix = 'SHA-256=';
  if (!info.digest.startsWith(prefix)) throw new Error(`staged files: ${info.name} has no SHA-256 digest`);
  return Buffer.from(info.digest.slice(prefix.length), 'base64url').toString('hex');
}
