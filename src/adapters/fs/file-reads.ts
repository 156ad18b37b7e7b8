// Reads of the agent's files that never follow a final link: whole-file md5, a bounded read, a byte comparison.
import { constants as C } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { describeError, fsError } from './fs-errors.ts';
import { giveBatchBuffer, takeBatchBuffer } from './hashing-writer.ts';

const READ_NO_FOLLOW = C.O_RDONLY | C.O_NOFOLLOW | C.O_NONBLOCK;
/** Files up to this size are compared in buffers of their own size; larger ones in WRITE_BATCH pieces. */
const SMALL = 64 * 1024;

/**
 * Whether two regular files hold the same bytes, read side by side without following a final link
 * and stopped at the first difference. A byte comparison of page-cache reads costs a fraction of an
 * md5 of the old file, which a forced push of the same size would otherwise pay only to tell whether
 * it changed anything. Large pieces in the writers' spare buffers: in a fan-out every push compares,
 * and each thread-pool call and each fresh buffer costs the thread that runs every agent.
 */
export async function sameBytes(a: string, b: string): Promise<boolean> {
  const [oa, ob] = await Promise.allSettled([openRead(a), openRead(b)]);
  if (oa.status === 'rejected' || ob.status === 'rejected') {
    await Promise.all([oa, ob].map((o) => (o.status === 'fulfilled' ? o.value.close() : undefined)));
    throw oa.status === 'rejected' ? oa.reason : (ob as PromiseRejectedResult).reason;
  }
  const [fa, fb] = [oa.value, ob.value];
  try {
    const [sa, sb] = await Promise.all([fa.stat(), fb.stat()]);
    if (!sa.isFile() || !sb.isFile() || sa.size !== sb.size) return false;
    return await compareHandles(fa, fb, sa.size);
  } finally {
    await Promise.all([fa.close(), fb.close()]);
  }
}

/** The first size bytes of both, piece by piece; a file that shrank since its stat must have shrunk alike. */
async function compareHandles(fa: FileHandle, fb: FileHandle, size: number): Promise<boolean> {
  if (size === 0) return true;
  const small = size <= SMALL;
  const [bufA, bufB] = small
    ? [Buffer.allocUnsafe(size), Buffer.allocUnsafe(size)]
    : [takeBatchBuffer(), takeBatchBuffer()];
  try {
    for (let pos = 0; pos < size;) {
      const want = Math.min(bufA.length, size - pos);
      const [ra, rb] = await Promise.all([fa.read(bufA, 0, want, pos), fb.read(bufB, 0, want, pos)]);
      const n = ra.bytesRead;
      if (n !== rb.bytesRead) return false;
      if (n === 0) return true;
      if (bufA.compare(bufB, 0, n, 0, n) !== 0) return false;
      pos += n;
    }
    return true;
  } finally {
    if (!small) [bufA, bufB].forEach(giveBatchBuffer);
  }
}

async function openRead(path: string): Promise<FileHandle> {
  return open(path, READ_NO_FOLLOW).catch((e: unknown) =>
    Promise.reject(describeError(e, 'cannot read', path)),
  );
}

/** md5 of the regular file at path, opened without following a final link. */
export async function fileMd5(path: string): Promise<string> {
  const handle = await openRead(path);
  try {
    const hash = createHash('md5');
    for await (const chunk of handle.createReadStream({ autoClose: false })) hash.update(chunk as Buffer);
    return hash.digest('hex');
  } catch (e) {
    throw describeError(e, 'cannot read', path);
  } finally {
    await handle.close();
  }
}

/** The file's bytes, or undefined when it holds more than maxBytes (at most maxBytes + 1 are read). */
export async function readUpTo(path: string, maxBytes: number): Promise<Uint8Array | undefined> {
  const handle = await openRead(path);
  try {
    if (!(await handle.stat()).isFile()) throw fsError('EINVAL', `${path} is not a regular file`);
    // One byte more than allowed tells "too large" without reading the rest.
    const buffer = Buffer.alloc(maxBytes + 1);
    let filled = 0;
    for (;;) {
      const { bytesRead } = await handle.read(buffer, filled, buffer.length - filled, null);
      if (bytesRead === 0 || (filled += bytesRead) === buffer.length) break;
    }
    return filled > maxBytes ? undefined : buffer.subarray(0, filled);
  } catch (e) {
    throw describeError(e, 'cannot read', path);
  } finally {
    await handle.close();
  }
}
