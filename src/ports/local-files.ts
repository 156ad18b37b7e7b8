import type { Ownership } from '../domain/ownership.ts';

export interface FileStatus {
  type: 'file' | 'directory' | 'symlink' | 'other';
  size: number;
  /** Permission bits, 0..0o7777. */
  mode: number;
  uid: number;
  gid: number;
}

/** One entry of a directory, as lstat sees it. */
export interface DirectoryEntry {
  name: string;
  type: FileStatus['type'];
}

/** A verified-size temp file the agent wrote in its own `{data_dir}/filepush/`. */
export interface TempFile {
  path: string;
  size: number;
  md5: string;
  /**
   * Given writeTemp's compareWith: whether the temp file holds exactly the bytes of that file, which
   * did not change while the temp file was written. Absent without compareWith.
   */
  sameAs?: boolean;
}

export interface AccountIds {
  uid?: number;
  gid?: number;
}

/** What sync changes on an existing file: an owner, a group, a mode; what is absent stays. */
export interface AttributeChange extends AccountIds {
  mode?: number;
}

/**
 * Agent side: the host's filesystem. Failures throw errors carrying a node-style `code`
 * (ENOENT, EACCES, EPERM, EXDEV, ...) and a message naming the path.
 */
export interface LocalFiles {
  /** lstat: never follows a final symlink. Undefined when nothing is there. */
  status(path: string): Promise<FileStatus | undefined>;
  /** The path with the symlinks of its existing parent directories resolved (where a write would really land). */
  resolveParents(path: string): Promise<string>;
  md5(path: string): Promise<string>;
  /**
   * The bytes of the regular file at path (its parents already resolved), opened without following a
   * final link; undefined when it holds more than maxBytes (at most maxBytes + 1 are read). Throws
   * EACCES when the agent's user may not read it, ELOOP on a link.
   */
  readUpTo(path: string, maxBytes: number): Promise<Uint8Array | undefined>;
  /**
   * Streams content into a new temp file `{data_dir}/filepush/<name>`, opened exclusively without
   * following links, mode 0600, hashing while writing; fsyncs it. Removes it when content fails.
   * compareWith (a path, its parents already resolved): the file a forced push replaces, compared
   * with the bytes as they are written (TempFile.sameAs); opened without following a final link, and
   * any file that cannot be read or is no regular file counts as different.
   */
  writeTemp(name: string, content: AsyncIterable<Uint8Array>, compareWith?: string): Promise<TempFile>;
  chmod(path: string, mode: number): Promise<void>;
  /** Plain chown by ids (no privilege escalation); throws EPERM when the agent's user may not. */
  chown(path: string, ids: AccountIds): Promise<void>;
  /**
   * sync on an existing file: sets owner and group, then mode, through a descriptor of the regular
   * file at `path` (its parents already resolved), opened without following a link inside its parent
   * directory, which is itself reached from "/" without following any. Never by path: a parent
   * swapped for a link after the checks makes it fail (ELOOP), not change a file elsewhere. Throws
   * EACCES/EPERM when the agent's user may not.
   */
  changeInPlace(path: string, change: AttributeChange): Promise<void>;
  /** uid/gid of the named user/group; throws with a message naming the unknown account. */
  lookup(ownership: Ownership): Promise<AccountIds>;
  /**
   * Moves a temp file onto destination atomically: creates missing parents with dirMode, renames
   * (copying beside the destination first on EXDEV), fsyncs the directory. Throws EACCES/EPERM
   * when the agent's user may not write there.
   */
  place(tempPath: string, destination: string, dirMode: number): Promise<void>;
  /**
   * Keeps an existing destination as `<dest>.<stamp>.bak` beside it, with its bytes, mode and owner
   * (a hard link, else a copy), created in its pinned directory without following a link: a name
   * already taken (a link planted there too) fails with EEXIST. Returns the backup's path.
   */
  backup(destination: string, stamp: string): Promise<string>;
  /** The entries of the directory holding `path` (its parents already resolved), links not followed. */
  listBeside(path: string): Promise<DirectoryEntry[]>;
  /**
   * Removes the regular file `name` beside `path`, through the pinned directory; anything else by
   * that name (a link, a directory) is left. True when a file was removed.
   */
  removeBeside(path: string, name: string): Promise<boolean>;
  /** Removes a file; a missing file is not an error. */
  remove(path: string): Promise<void>;
}
