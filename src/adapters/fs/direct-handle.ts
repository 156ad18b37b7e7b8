import { constants as C } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';

/** The flags of the second handle to a temp file, for HashingWriter's whole batches past the page cache; Linux only. */
const DIRECT_WRITE = C.O_DIRECT === undefined ? undefined : C.O_WRONLY | C.O_NOFOLLOW | C.O_DIRECT;

/** Whether this platform has O_DIRECT at all (docs/adr/0010). */
export const DIRECT_WRITES_AVAILABLE = DIRECT_WRITE !== undefined;

/**
 * The temp file opened again with O_DIRECT, if the file system allows it and the path still names the
 * file we created (the temp dir is ours alone, and this checks it anyway). A handle that is not
 * returned is closed, whatever failed.
 */
export async function reopenDirect(created: FileHandle, path: string): Promise<FileHandle | undefined> {
  if (DIRECT_WRITE === undefined) return undefined;
  const direct = await open(path, DIRECT_WRITE).catch(() => undefined);
  if (!direct) return undefined;
  try {
    const [a, b] = await Promise.all([created.stat(), direct.stat()]);
    if (a.dev === b.dev && a.ino === b.ino) return direct;
  } catch {
    // Cannot tell that it is the same file: not written through it.
  }
  await direct.close();
  return undefined;
}
