// Reads of the agent's files that never follow a final link: whole-file md5 and a bounded read.
import { constants as C } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { describeError, fsError } from './fs-errors.ts';

const READ_NO_FOLLOW = C.O_RDONLY | C.O_NOFOLLOW | C.O_NONBLOCK;

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
