import { constants as C } from 'node:fs';
import { open, unlink, type FileHandle } from 'node:fs/promises';
import { describeError } from './fs-errors.ts';

const NEW_FILE = C.O_WRONLY | C.O_CREAT | C.O_EXCL | C.O_NOFOLLOW;
const READ_NO_FOLLOW = C.O_RDONLY | C.O_NOFOLLOW | C.O_NONBLOCK;
const COPY_CHUNK = 256 * 1024;
const NEW_FILE_MODE = 0o600;

/** Copies bytes, mode and (when it can) owner into a new file created exclusively, without following links. */
export async function copyFile(
  from: string,
  to: string,
  opts: { keepOwner: 'required' | 'best-effort'; shownAs?: string },
): Promise<void> {
  const shown = opts.shownAs ?? to;
  const source = await open(from, READ_NO_FOLLOW).catch((e) =>
    Promise.reject(describeError(e, 'cannot read', from)),
  );
  let target: FileHandle | undefined;
  try {
    const s = await source.stat();
    target = await open(to, NEW_FILE, NEW_FILE_MODE);
    const buffer = Buffer.allocUnsafe(COPY_CHUNK);
    for (;;) {
      const { bytesRead } = await source.read(buffer, 0, buffer.length);
      if (bytesRead === 0) break;
      await writeAll(target, buffer.subarray(0, bytesRead));
    }
    const mine = process.getuid?.() === s.uid && process.getgid?.() === s.gid;
    if (!mine)
      await target
        .chown(s.uid, s.gid)
        .catch((e) => (opts.keepOwner === 'required' ? Promise.reject(e) : undefined));
    await target.chmod(s.mode & 0o7777); // after chown, which would clear setuid
    await target.sync();
    await target.close();
  } catch (e) {
    await target?.close().catch(() => undefined);
    if (target) await unlink(to).catch(() => undefined);
    throw describeError(e, 'cannot copy to', shown);
  } finally {
    await source.close();
  }
}

async function writeAll(handle: FileHandle, chunk: Uint8Array): Promise<void> {
  let offset = 0;
  while (offset < chunk.byteLength) {
    const { bytesWritten } = await handle.write(chunk, offset, chunk.byteLength - offset);
    offset += bytesWritten;
  }
}
