import { createHash, randomBytes } from 'node:crypto';
import { constants as C, type Stats } from 'node:fs';
import {
  chmod,
  lchown,
  lstat,
  mkdir,
  open,
  readdir,
  realpath,
  rename,
  unlink,
  type FileHandle,
} from 'node:fs/promises';
import { basename, dirname, join, posix, resolve } from 'node:path';
import type { Ownership } from '../../domain/ownership.ts';
import type {
  AccountIds,
  AttributeChange,
  DirectoryEntry,
  FileStatus,
  LocalFiles,
  TempFile,
} from '../../ports/local-files.ts';
import { lookupAccountId } from './account-lookup.ts';
import { describeError, fsError } from './fs-errors.ts';
import { HashWorker } from './hash-worker.ts';
import { ByteComparer } from './byte-comparer.ts';
import { HashingWriter, WRITE_BATCH } from './hashing-writer.ts';
import { copyFile } from './copy-file.ts';
import { DIRECT_WRITES_AVAILABLE, reopenDirect } from './direct-handle.ts';
import { keepBackup } from './keep-backup.ts';
import { fileMd5, readUpTo } from './file-reads.ts';
import { PinnedDirectory } from './pinned-directory.ts';

/** `<id>_rport_filepush`: the only names the temp dir holds, and the only ones the sudo helper accepts. */
export const TEMP_NAME = /^[A-Za-z0-9][A-Za-z0-9_-]{0,127}_rport_filepush$/;
const TEMP_DIR_MODE = 0o700;
const TEMP_FILE_MODE = 0o600;
const NEW_FILE = C.O_WRONLY | C.O_CREAT | C.O_EXCL | C.O_NOFOLLOW;
const READ_NO_FOLLOW = C.O_RDONLY | C.O_NOFOLLOW | C.O_NONBLOCK;

interface FsLocalFilesOptions {
  /** The agent's data_dir; temp files live in `{dataDir}/filepush/`. */
  dataDir: string;
  /**
   * md5 of a temp file on a thread of its own, past one write batch: a HashWorker, or true for the
   * process's one shared thread. Off by default: md5 then runs on this thread beside the writes.
   * Why off: on the 2-core bench it saved no time (the push is CPU-bound there), and the thread's own
   * memory eats into issue 4's 100 MB budget for a 1 GiB push (docs/adr/0006-agent-memory.md).
   */
  hashWorker?: HashWorker | boolean;
  /**
   * Whole write batches of a temp file go to the disk with O_DIRECT, past the page cache (HashingWriter
   * says why). On by default where the platform has O_DIRECT; a file system that refuses it gets the
   * page cache, as with false.
   */
  directWrites?: boolean;
}

/** One hashing thread per process, however many agents it holds (the bench's fleets). */
const sharedHashWorker = new HashWorker();

/** Agent side: the host's real filesystem, placing files atomically and never through a symlink. */
export class FsLocalFiles implements LocalFiles {
  readonly tempDir: string;
  private readonly hashWorker: HashWorker | undefined;
  private readonly directWrites: boolean;

  constructor(options: FsLocalFilesOptions) {
    this.tempDir = join(resolve(options.dataDir), 'filepush');
    this.directWrites = options.directWrites !== false && DIRECT_WRITES_AVAILABLE;
    const w = options.hashWorker;
    this.hashWorker = w === true ? sharedHashWorker : w || undefined;
  }

  async status(path: string): Promise<FileStatus | undefined> {
    try {
      return toStatus(await lstat(path));
    } catch (e) {
      if (isMissing(e)) return undefined;
      throw describeError(e, 'cannot inspect', path);
    }
  }

  async resolveParents(path: string): Promise<string> {
    const absolute = posix.normalize(resolve(path));
    const rest = [basename(absolute)];
    let dir = dirname(absolute);
    for (;;) {
      try {
        return join(await realpath(dir), ...rest);
      } catch (e) {
        if (!isMissing(e) || dir === '/') throw describeError(e, 'cannot resolve the parents of', path);
        rest.unshift(basename(dir));
        dir = dirname(dir);
      }
    }
  }

  md5(path: string): Promise<string> {
    return fileMd5(path);
  }

  readUpTo(path: string, maxBytes: number): Promise<Uint8Array | undefined> {
    return readUpTo(path, maxBytes);
  }

  async writeTemp(name: string, content: AsyncIterable<Uint8Array>, compareWith?: string): Promise<TempFile> {
    if (!TEMP_NAME.test(name))
      throw fsError('EINVAL', `temp file name "${name}" is not of the form <id>_rport_filepush`);
    await this.ensureTempDir();
    const path = join(this.tempDir, name);
    const handle = await open(path, NEW_FILE, TEMP_FILE_MODE).catch((e) =>
      Promise.reject(describeError(e, 'cannot create temp file', path)),
    );
    // With a hashing thread, md5 runs there past the first batch: this thread is left ssh2's decryption, SFTP and the writes.
    const job = this.hashWorker?.job(['md5']);
    const md5 = job ? undefined : createHash('md5');
    const comparer = compareWith === undefined ? undefined : new ByteComparer(compareWith);
    const openDirect = this.directWrites ? () => reopenDirect(handle, path) : undefined;
    const writer = new HashingWriter(handle, job ?? [md5!], WRITE_BATCH, 2, comparer, openDirect);
    let digest: string;
    let sameAs: boolean | undefined;
    try {
      for await (const chunk of content) await writer.add(chunk);
      await writer.finish();
      digest = job ? (await job.digest())[0] : md5!.digest('hex');
      sameAs = await comparer?.finish(writer.size);
      await handle.sync();
      await handle.close();
    } catch (e) {
      job?.dispose();
      await writer.abandon();
      await comparer?.close();
      await handle.close().catch(() => undefined);
      await unlink(path).catch(() => undefined);
      throw describeError(e, 'cannot write temp file', path);
    }
    return { path, size: writer.size, md5: digest, ...(sameAs === undefined ? {} : { sameAs }) };
  }

  async chmod(path: string, mode: number): Promise<void> {
    let handle: FileHandle | undefined;
    try {
      handle = await open(path, READ_NO_FOLLOW);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ELOOP')
        throw fsError('ELOOP', `${path} is a symbolic link; rport never changes a file through a link`);
      if (code !== 'EACCES') throw describeError(e, 'cannot chmod', path);
    }
    try {
      if (handle) await handle.chmod(mode);
      else await this.chmodUnreadable(path, mode);
    } catch (e) {
      throw describeError(e, 'cannot chmod', path);
    } finally {
      await handle?.close();
    }
  }

  async chown(path: string, ids: AccountIds): Promise<void> {
    // lchown: a link in place of the file is changed itself, never its target.
    await lchown(path, ids.uid ?? -1, ids.gid ?? -1).catch((e) =>
      Promise.reject(describeError(e, 'cannot chown', path)),
    );
  }

  async changeInPlace(path: string, change: AttributeChange): Promise<void> {
    const dest = posix.normalize(resolve(path));
    const dir = await PinnedDirectory.open(dirname(dest));
    try {
      await dir.withFile(basename(dest), async (file) => {
        if (change.uid !== undefined || change.gid !== undefined)
          await file.chown(change.uid ?? -1, change.gid ?? -1);
        // After the chown, which clears setuid and setgid.
        if (change.mode !== undefined) await file.chmod(change.mode);
      });
    } catch (e) {
      // The pinned directory's own errors already name the path and the link at fault.
      throw e instanceof Error && e.message.includes(dest)
        ? e
        : describeError(e, 'cannot change mode or owner of', dest);
    } finally {
      await dir.close();
    }
  }

  async lookup(ownership: Ownership): Promise<AccountIds> {
    const ids: AccountIds = {};
    if (ownership.user !== undefined) ids.uid = await lookupAccountId('user', ownership.user);
    if (ownership.group !== undefined) ids.gid = await lookupAccountId('group', ownership.group);
    return ids;
  }

  async place(tempPath: string, destination: string, dirMode: number): Promise<void> {
    const dest = posix.normalize(resolve(destination));
    const name = basename(dest);
    const dir = await PinnedDirectory.open(dirname(dest), dirMode);
    try {
      // No lstat first: rename itself refuses a directory at dest (EISDIR), and one system call less per push counts in a fan-out.
      try {
        await rename(tempPath, dir.entry(name));
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EXDEV') throw placeError(e, dest);
        await copyBeside(tempPath, dir, name);
      }
      await dir.sync();
    } finally {
      await dir.close();
    }
  }

  async backup(destination: string, stamp: string): Promise<string> {
    const dest = posix.normalize(resolve(destination));
    const name = basename(dest);
    const dir = await PinnedDirectory.open(dirname(dest));
    try {
      return await keepBackup(dir, name, `${name}.${stamp}.bak`);
    } finally {
      await dir.close();
    }
  }

  async listBeside(path: string): Promise<DirectoryEntry[]> {
    const dir = await PinnedDirectory.open(dirname(posix.normalize(resolve(path))));
    try {
      return await dir.list();
    } finally {
      await dir.close();
    }
  }

  async removeBeside(path: string, name: string): Promise<boolean> {
    const dir = await PinnedDirectory.open(dirname(posix.normalize(resolve(path))));
    try {
      return await dir.removeFile(name);
    } finally {
      await dir.close();
    }
  }

  async remove(path: string): Promise<void> {
    await unlink(path).catch((e) => {
      if (!isMissing(e)) throw describeError(e, 'cannot remove', path);
    });
  }

  /** At agent start: removes the temp files a crash left behind. Returns how many. */
  async sweep(): Promise<number> {
    await this.ensureTempDir();
    let removed = 0;
    for (const name of await readdir(this.tempDir)) {
      if (!name.endsWith('_rport_filepush')) continue;
      const s = await lstat(join(this.tempDir, name)).catch(() => undefined);
      if (!s || s.isDirectory()) continue;
      await this.remove(join(this.tempDir, name));
      removed++;
    }
    return removed;
  }

  private async ensureTempDir(): Promise<void> {
    // Checked on every push (it may have been removed or replaced); created only when missing.
    let s = await lstat(this.tempDir).catch(() => undefined);
    if (!s) {
      await mkdir(this.tempDir, { recursive: true, mode: TEMP_DIR_MODE }).catch((e) =>
        Promise.reject(describeError(e, 'cannot create temp directory', this.tempDir)),
      );
      s = await lstat(this.tempDir);
    }
    if (!s.isDirectory())
      throw fsError(
        'ENOTDIR',
        `${this.tempDir} is not a directory; rport keeps its temp files only in a real directory`,
      );
    if ((s.mode & 0o777) !== TEMP_DIR_MODE) await chmod(this.tempDir, TEMP_DIR_MODE);
  }

  /** A file the agent may not read but may own: chmod by path after checking it is no link. */
  private async chmodUnreadable(path: string, mode: number): Promise<void> {
    const s = await lstat(path);
    if (s.isSymbolicLink())
      throw fsError('ELOOP', `${path} is a symbolic link; rport never changes a file through a link`);
    await chmod(path, mode);
  }
}

/** EXDEV: copies the temp file to a new file beside the destination, then renames it over; never writes into the destination. */
async function copyBeside(tempPath: string, dir: PinnedDirectory, name: string): Promise<void> {
  const partialName = `.${name}.${randomBytes(6).toString('hex')}.rport-partial`;
  await copyFile(tempPath, dir.entry(partialName), { keepOwner: 'required', shownAs: dir.display(name) });
  try {
    await rename(dir.entry(partialName), dir.entry(name));
  } catch (e) {
    await unlink(dir.entry(partialName)).catch(() => undefined);
    throw placeError(e, dir.display(name));
  }
  await unlink(tempPath).catch(() => undefined);
}

/** Why a rename onto dest failed, in words: a directory there is named as such. */
function placeError(e: unknown, dest: string): Error {
  if ((e as NodeJS.ErrnoException).code === 'EISDIR')
    return fsError('EISDIR', `${dest} is an existing directory`);
  return describeError(e, 'cannot place', dest);
}

function toStatus(s: Stats): FileStatus {
  const type = s.isFile() ? 'file' : s.isDirectory() ? 'directory' : s.isSymbolicLink() ? 'symlink' : 'other';
  return { type, size: s.size, mode: s.mode & 0o7777, uid: s.uid, gid: s.gid };
}

const isMissing = (e: unknown): boolean =>
  ['ENOENT', 'ENOTDIR'].includes((e as NodeJS.ErrnoException).code ?? '');
