import { constants as C } from 'node:fs';
import { lstat, mkdir, open, readdir, readlink, unlink, type FileHandle } from 'node:fs/promises';
import { describeError, fsError } from './fs-errors.ts';

const DIR_FLAGS = C.O_RDONLY | C.O_DIRECTORY | C.O_NOFOLLOW;
const FILE_FLAGS = C.O_RDONLY | C.O_NOFOLLOW | C.O_NONBLOCK;
// On Linux a name under /proc/self/fd/N is looked up in the directory the handle holds, not by path again.
const VIA_PROC = process.platform === 'linux';

/**
 * A directory opened one component at a time from "/", never through a symlink, and held open:
 * names inside it are resolved against the held directory, so a parent swapped for a link after
 * the walk cannot redirect a rename, mkdir or create.
 */
export class PinnedDirectory {
  private constructor(
    private readonly handle: FileHandle,
    /** The absolute path the directory had when it was opened. */
    readonly path: string,
  ) {}

  /**
   * Opens the absolute directory `path`. With createMode, missing components are created with exactly
   * that mode. A component that is a symlink fails with ELOOP, one that is a file with ENOTDIR.
   */
  static async open(path: string, createMode?: number): Promise<PinnedDirectory> {
    if (!path.startsWith('/')) throw fsError('EINVAL', `${path} is not an absolute directory path`);
    const names = path.split('/').filter((s) => s !== '');
    return (
      (await PinnedDirectory.direct(`/${names.join('/')}`)) ?? (await PinnedDirectory.walk(names, createMode))
    );
  }

  /**
   * Linux, an existing directory: opened in one call, then kept only if the kernel names what it opened
   * exactly `path` (written as the kernel names it: no doubled or trailing slash). A symlink anywhere on the way would make that name differ (a symlink's own target
   * is named instead), so the check is the walk's, in 2 system calls instead of 2 per component (for a
   * directory 4 deep, 9 of the 23 thread-pool calls a push made). Anything else
   * (missing, not a directory, a link, another name, no /proc) is left to the walk and its errors.
   */
  private static async direct(path: string): Promise<PinnedDirectory | undefined> {
    if (!VIA_PROC) return undefined;
    const handle = await open(path, DIR_FLAGS).catch(() => undefined);
    if (!handle) return undefined;
    const named = await readlink(`/proc/self/fd/${handle.fd}`).catch(() => undefined);
    if (named === path) return new PinnedDirectory(handle, path);
    await handle.close().catch(() => undefined);
    return undefined;
  }

  /** One component at a time from "/", creating missing ones with createMode. */
  private static async walk(names: string[], createMode?: number): Promise<PinnedDirectory> {
    let current = new PinnedDirectory(await open('/', DIR_FLAGS), '/');
    try {
      for (const name of names) {
        const next = await current.child(name, createMode);
        await current.close();
        current = next;
      }
      return current;
    } catch (e) {
      await current.close();
      throw e;
    }
  }

  /** The path that names `name` inside this directory (through the held handle on Linux). */
  entry(name: string): string {
    if (name.includes('/') || name === '' || name === '.' || name === '..')
      throw fsError('EINVAL', `"${name}" is not a plain file name`);
    return VIA_PROC ? `/proc/self/fd/${this.handle.fd}/${name}` : `${this.display(name)}`;
  }

  /** The ordinary path of `name` inside this directory, for messages. */
  display(name: string): string {
    return this.path === '/' ? `/${name}` : `${this.path}/${name}`;
  }

  /**
   * Runs fn on the regular file `name` inside this directory, opened without following a link (a
   * link there fails with ELOOP, naming it) and without blocking on a FIFO; closes it after.
   */
  async withFile<T>(name: string, fn: (file: FileHandle) => Promise<T>): Promise<T> {
    const shown = this.display(name);
    const file = await open(this.entry(name), FILE_FLAGS).catch((e: NodeJS.ErrnoException) =>
      Promise.reject(
        e.code === 'ELOOP'
          ? fsError('ELOOP', `${shown} is a symbolic link; rport never changes a file through a link`)
          : describeError(e, 'cannot open', shown),
      ),
    );
    try {
      if (!(await file.stat()).isFile()) throw fsError('EINVAL', `${shown} is not a regular file`);
      return await fn(file);
    } finally {
      await file.close().catch(() => undefined);
    }
  }

  /** The entries of this directory, each typed as lstat would (a link is a link, not its target). */
  async list(): Promise<{ name: string; type: 'file' | 'directory' | 'symlink' | 'other' }[]> {
    const listed = VIA_PROC ? `/proc/self/fd/${this.handle.fd}` : this.path;
    const entries = await readdir(listed, { withFileTypes: true }).catch((e) =>
      Promise.reject(describeError(e, 'cannot list', this.path)),
    );
    return entries.map((e) => ({
      name: e.name,
      type: e.isFile() ? 'file' : e.isDirectory() ? 'directory' : e.isSymbolicLink() ? 'symlink' : 'other',
    }));
  }

  /** Removes `name` only when it is a regular file here; a link, a directory or nothing is left. */
  async removeFile(name: string): Promise<boolean> {
    const s = await lstat(this.entry(name)).catch(() => undefined);
    if (!s?.isFile()) return false;
    await unlink(this.entry(name)).catch((e) =>
      Promise.reject(describeError(e, 'cannot remove', this.display(name))),
    );
    return true;
  }

  async sync(): Promise<void> {
    await this.handle.sync().catch((e) => {
      // Some filesystems cannot fsync a directory; the rename itself is still atomic there.
      if (!['EINVAL', 'ENOTSUP', 'EBADF'].includes((e as NodeJS.ErrnoException).code ?? ''))
        throw describeError(e, 'cannot fsync directory', this.path);
    });
  }

  async close(): Promise<void> {
    await this.handle.close().catch(() => undefined);
  }

  private async child(name: string, createMode?: number): Promise<PinnedDirectory> {
    const shown = this.display(name);
    try {
      return new PinnedDirectory(await open(this.entry(name), DIR_FLAGS), shown);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' && createMode !== undefined) return this.create(name, createMode);
      if (code === 'ENOTDIR' || code === 'ELOOP') throw await this.notADirectory(name);
      throw describeError(e, 'cannot open directory', shown);
    }
  }

  private async create(name: string, mode: number): Promise<PinnedDirectory> {
    const shown = this.display(name);
    let created = true;
    await mkdir(this.entry(name), { mode }).catch((e) => {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST')
        throw describeError(e, 'cannot create directory', shown);
      created = false; // made by someone else meanwhile: open it like any other, without following links
    });
    let dir: PinnedDirectory;
    try {
      dir = new PinnedDirectory(await open(this.entry(name), DIR_FLAGS), shown);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOTDIR' || code === 'ELOOP') throw await this.notADirectory(name);
      throw describeError(e, 'cannot open directory', shown);
    }
    // mkdir's mode passes through the umask; the directory mode asked for is set exactly.
    if (created)
      await dir.handle
        .chmod(mode)
        .catch((e) => Promise.reject(describeError(e, 'cannot chmod directory', shown)));
    return dir;
  }

  private async notADirectory(name: string): Promise<Error> {
    const shown = this.display(name);
    const s = await lstat(this.entry(name)).catch(() => undefined);
    if (s?.isSymbolicLink())
      return fsError('ELOOP', `${shown} is a symbolic link; rport never places a file through a link`);
    return fsError('ENOTDIR', `${shown} is not a directory`);
  }
}
