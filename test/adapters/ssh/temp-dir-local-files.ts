import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import {
  chmod,
  copyFile,
  lstat,
  mkdir,
  open,
  readdir,
  readFile,
  realpath,
  rename,
  rm,
} from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type {
  AccountIds,
  AttributeChange,
  DirectoryEntry,
  FileStatus,
  LocalFiles,
  TempFile,
} from '../../../src/ports/local-files.ts';

/** A minimal LocalFiles for the SSH tests: temp files in `{dataDir}/filepush`, plain renames. */
export class TempDirLocalFiles implements LocalFiles {
  constructor(private readonly dataDir: string) {}

  async status(path: string): Promise<FileStatus | undefined> {
    try {
      const s = await lstat(path);
      const type = s.isFile()
        ? 'file'
        : s.isDirectory()
          ? 'directory'
          : s.isSymbolicLink()
            ? 'symlink'
            : 'other';
      return { type, size: s.size, mode: s.mode & 0o7777, uid: s.uid, gid: s.gid };
    } catch {
      return undefined;
    }
  }

  async resolveParents(path: string): Promise<string> {
    try {
      return join(await realpath(dirname(path)), basename(path));
    } catch {
      return path;
    }
  }

  async md5(path: string): Promise<string> {
    const h = createHash('md5');
    for await (const c of createReadStream(path)) h.update(c as Buffer);
    return h.digest('hex');
  }

  async readUpTo(path: string, maxBytes: number): Promise<Uint8Array | undefined> {
    const data = await readFile(path);
    return data.byteLength > maxBytes ? undefined : data;
  }

  async writeTemp(name: string, content: AsyncIterable<Uint8Array>, compareWith?: string): Promise<TempFile> {
    const dir = join(this.dataDir, 'filepush');
    await mkdir(dir, { recursive: true });
    const path = join(dir, name);
    const fh = await open(path, 'wx', 0o600);
    const h = createHash('md5');
    let size = 0;
    try {
      for await (const chunk of content) {
        h.update(chunk);
        size += chunk.byteLength;
        await fh.write(chunk);
      }
      await fh.sync();
      await fh.close();
      const temp = { path, size, md5: h.digest('hex') };
      if (compareWith === undefined) return temp;
      const old = await readFile(compareWith).catch(() => undefined);
      return { ...temp, sameAs: old !== undefined && old.equals(await readFile(path)) };
    } catch (e) {
      await fh.close().catch(() => undefined);
      await rm(path, { force: true });
      throw e;
    }
  }

  chmod(path: string, mode: number): Promise<void> {
    return chmod(path, mode);
  }

  async chown(): Promise<void> {}

  /** The SSH tests change no owner; a mode is set by path (no links in their temp dirs). */
  async changeInPlace(path: string, change: AttributeChange): Promise<void> {
    if (change.mode !== undefined) await chmod(path, change.mode);
  }

  async lookup(): Promise<AccountIds> {
    return {};
  }

  async place(tempPath: string, destination: string, dirMode: number): Promise<void> {
    await mkdir(dirname(destination), { recursive: true, mode: dirMode });
    await rename(tempPath, destination);
  }

  async backup(destination: string, stamp: string): Promise<string> {
    const to = `${destination}.${stamp}.bak`;
    await copyFile(destination, to);
    return to;
  }

  async listBeside(path: string): Promise<DirectoryEntry[]> {
    const entries = await readdir(dirname(path), { withFileTypes: true });
    return entries.map((e) => ({
      name: e.name,
      type: e.isFile() ? 'file' : e.isDirectory() ? 'directory' : 'other',
    }));
  }

  async removeBeside(path: string, name: string): Promise<boolean> {
    await rm(join(dirname(path), name));
    return true;
  }

  remove(path: string): Promise<void> {
    return rm(path, { force: true });
  }
}
