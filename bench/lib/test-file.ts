import { createHash, randomBytes } from 'node:crypto';
import { open } from 'node:fs/promises';
import { MiB } from './proc-memory.ts';

/** Writes size bytes of random data (incompressible, so no layer can cheat) to path; returns its md5. */
export async function writeRandomFile(path: string, size: number): Promise<string> {
  const fh = await open(path, 'w');
  const md5 = createHash('md5');
  try {
    for (let written = 0; written < size;) {
      const chunk = randomBytes(Math.min(MiB, size - written));
      md5.update(chunk);
      await fh.write(chunk);
      written += chunk.length;
    }
  } finally {
    await fh.close();
  }
  return md5.digest('hex');
}
