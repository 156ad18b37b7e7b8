import { expect } from 'chai';
import { open, writeFile, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';

/** What both staging and agent writers offer. */
interface Writer {
  add(chunk: Uint8Array): Promise<void>;
  finish(): Promise<void>;
  abandon(): Promise<void>;
}

/**
 * A writer over a file opened read-only (every write fails with EBADF): the error must surface from
 * add or finish, never as an unhandled rejection, and abandon must settle.
 */
export async function expectFailingWritesSurface(
  root: string,
  make: (file: FileHandle) => Writer,
): Promise<void> {
  const path = join(root, 'read-only');
  await writeFile(path, '');
  const file = await open(path, 'r');
  const unhandled: unknown[] = [];
  const onUnhandled = (e: unknown): number => unhandled.push(e);
  process.on('unhandledRejection', onUnhandled);
  let err: NodeJS.ErrnoException | undefined;
  const writer = make(file);
  try {
    for (let i = 0; i < 8; i++) {
      await writer.add(Buffer.alloc(1024));
      await new Promise((r) => setTimeout(r, 5)); // lets the failed write settle before anyone awaits it
    }
    await writer.finish();
  } catch (e) {
    err = e as NodeJS.ErrnoException;
  } finally {
    await writer.abandon();
    await file.close();
    await new Promise((r) => setImmediate(r));
    process.off('unhandledRejection', onUnhandled);
  }
  expect(err?.code).to.equal('EBADF');
  expect(unhandled).to.deep.equal([]);
}
