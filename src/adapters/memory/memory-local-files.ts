// Longer than the 320 lines other files keep to, on purpose: it is one stateful fake of the whole
// LocalFiles port (a POSIX tree with modes, owners, links, faults and change observers), and its
// operations share one private tree and one permission model. Split, each part would reach into the
// others' state; whole, the domain tests and the simulation get one filesystem that behaves alike.
import { createHash } from 'node:crypto';
import { posix } from 'node:path';
import type { Ownership } from '../../domain/ownership.ts';
import type {
  AccountIds,
  AttributeChange,
  DirectoryEntry,
  FileStatus,
  LocalFiles,
  TempFile,
} from '../../ports/local-files.ts';
import { errnoError } from './errno-error.ts';

interface Meta {
  mode: number;
  uid: number;
  gid: number;
}
type Node =
  | (Meta & { type: 'file'; data: Uint8Array })
  | (Meta & { type: 'directory' })
  | (Meta & { type: 'symlink'; target: string });

type LocalFilesOp =
  | 'status'
  | 'resolveParents'
  | 'md5'
  | 'readUpTo'
  | 'writeTemp'
  | 'chmod'
  | 'chown'
  | 'changeInPlace'
  | 'lookup'
  | 'place'
  | 'backup'
  | 'listBeside'
  | 'removeBeside'
  | 'remove';

interface MemoryAccounts {
  /** user name -> uid */
  users: Record<string, number>;
  /** group name -> gid */
  groups: Record<string, number>;
}

interface MemoryLocalFilesOptions {
  /** `{data_dir}` of the agent; temp files go to `{data_dir}/filepush/`. */
  dataDir: string;
  /** The agent's OS user; 0 is root, who may do anything. */
  uid: number;
  gid: number;
  /** Supplementary groups of the agent's user. */
  memberOf?: number[];
  accounts?: MemoryAccounts;
}

type ChangeListener = (op: string, path: string) => void;

interface Fault {
  op: LocalFilesOp;
  code: string;
  path?: string;
  times: number;
}

/** The state shared by every user's view of one simulated host. */
class Disk {
  readonly nodes = new Map<string, Node>([['/', { type: 'directory', mode: 0o755, uid: 0, gid: 0 }]]);
  readonly listeners = new Set<ChangeListener>();
  faults: Fault[] = [];
}

const norm = (p: string): string => {
  if (!p.startsWith('/')) throw errnoError('EINVAL', `${p} is not an absolute path`);
  const n = posix.normalize(p);
  return n.length > 1 && n.endsWith('/') ? n.slice(0, -1) : n;
};

/**
 * A fake POSIX filesystem: files, directories and symlinks with modes and owners, seen as one OS
 * user. Permission checks follow POSIX for writes into directories (w+x on the parent, the sticky
 * bit) and for chmod/chown; search permission on the way down is not checked.
 */
export class MemoryLocalFiles implements LocalFiles {
  private readonly disk: Disk;
  readonly dataDir: string;
  readonly uid: number;
  readonly gid: number;
  private readonly memberOf: number[];
  private readonly accounts: MemoryAccounts;

  constructor(options: MemoryLocalFilesOptions, disk?: Disk) {
    this.disk = disk ?? new Disk();
    this.dataDir = norm(options.dataDir);
    this.uid = options.uid;
    this.gid = options.gid;
    this.memberOf = options.memberOf ?? [];
    this.accounts = options.accounts ?? { users: { root: 0 }, groups: { root: 0 } };
    if (!disk) {
      this.mkdirp(this.dataDir, { mode: 0o700, uid: this.uid, gid: this.gid });
      this.mkdirp(this.filepushDir, { mode: 0o700, uid: this.uid, gid: this.gid });
    }
  }

  /** The same host seen by another user (root for privileged operations). */
  asUser(uid: number, gid: number, memberOf: number[] = []): MemoryLocalFiles {
    return new MemoryLocalFiles(
      { dataDir: this.dataDir, uid, gid, memberOf, accounts: this.accounts },
      this.disk,
    );
  }

  get filepushDir(): string {
    return posix.join(this.dataDir, 'filepush');
  }

  // ---- LocalFiles -------------------------------------------------------------------------

  async status(path: string): Promise<FileStatus | undefined> {
    this.fault('status', path);
    const node = this.disk.nodes.get(this.resolve(path, false));
    if (!node) return undefined;
    return {
      type: node.type,
      size: node.type === 'file' ? node.data.byteLength : 0,
      mode: node.mode,
      uid: node.uid,
      gid: node.gid,
    };
  }

  async resolveParents(path: string): Promise<string> {
    this.fault('resolveParents', path);
    return this.resolve(path, false);
  }

  async md5(path: string): Promise<string> {
    this.fault('md5', path);
    const node = this.fileAt(path);
    if (!this.can(node, 4)) throw errnoError('EACCES', `open '${path}': permission denied`);
    return createHash('md5').update(node.data).digest('hex');
  }

  async readUpTo(path: string, maxBytes: number): Promise<Uint8Array | undefined> {
    this.fault('readUpTo', path);
    const node = this.existing(this.resolve(path, false), path);
    if (node.type === 'symlink') throw errnoError('ELOOP', `open '${path}': too many symbolic links`);
    if (node.type !== 'file') throw errnoError('EINVAL', `${path} is not a regular file`);
    if (!this.can(node, 4)) throw errnoError('EACCES', `open '${path}': permission denied`);
    return node.data.byteLength > maxBytes ? undefined : Uint8Array.from(node.data);
  }

  async writeTemp(name: string, content: AsyncIterable<Uint8Array>, compareWith?: string): Promise<TempFile> {
    this.fault('writeTemp', name);
    if (name.includes('/') || name === '' || name === '.' || name === '..')
      throw errnoError('EINVAL', `temp file name "${name}" is not a plain file name`);
    const path = posix.join(this.filepushDir, name);
    if (this.disk.nodes.has(path)) throw errnoError('EEXIST', `open '${path}': file already exists`);
    this.requireWritableDir(this.filepushDir, path);
    const node: Node = { type: 'file', data: new Uint8Array(0), mode: 0o600, uid: this.uid, gid: this.gid };
    this.disk.nodes.set(path, node);
    this.changed('writeTemp', path);
    const md5 = createHash('md5');
    const old = compareWith === undefined ? undefined : this.comparable(compareWith);
    try {
      for await (const chunk of content) {
        md5.update(chunk);
        node.data = Buffer.concat([node.data, chunk]);
        this.changed('write', path);
      }
    } catch (e) {
      if (this.disk.nodes.get(path) === node) this.disk.nodes.delete(path);
      this.changed('remove', path);
      throw e;
    }
    const result = { path, size: node.data.byteLength, md5: md5.digest('hex') };
    if (compareWith === undefined) return result;
    // Unchanged while written: the same node still there, its bytes not replaced since.
    const same =
      old !== undefined &&
      this.disk.nodes.get(old.real) === old.node &&
      old.node.data === old.data &&
      Buffer.from(old.data).equals(Buffer.from(node.data));
    return { ...result, sameAs: same };
  }

  /** The regular file at path (no final link followed) that this user may read, with its bytes now. */
  private comparable(
    path: string,
  ): { real: string; node: Node & { type: 'file' }; data: Uint8Array } | undefined {
    try {
      const real = this.resolve(path, false);
      const node = this.disk.nodes.get(real);
      if (node?.type !== 'file' || !this.can(node, 4)) return undefined;
      return { real, node, data: node.data };
    } catch {
      return undefined;
    }
  }

  async chmod(path: string, mode: number): Promise<void> {
    this.fault('chmod', path);
    const real = this.resolve(path, true);
    const node = this.existing(real, path);
    if (this.uid !== 0 && node.uid !== this.uid)
      throw errnoError('EPERM', `chmod '${path}': operation not permitted`);
    node.mode = mode & 0o7777;
    this.changed('chmod', real);
  }

  async chown(path: string, ids: AccountIds): Promise<void> {
    this.fault('chown', path);
    const real = this.resolve(path, true);
    const node = this.existing(real, path);
    const uid = ids.uid ?? node.uid;
    const gid = ids.gid ?? node.gid;
    if (this.uid !== 0) {
      // An unprivileged owner may only move its file to one of its own groups.
      const allowed = node.uid === this.uid && uid === node.uid && (gid === node.gid || this.inGroup(gid));
      if (!allowed) throw errnoError('EPERM', `chown '${path}' to ${uid}:${gid}: operation not permitted`);
    }
    if (node.type === 'file' && (uid !== node.uid || gid !== node.gid)) node.mode &= ~0o6000; // as Linux does
    node.uid = uid;
    node.gid = gid;
    this.changed('chown', real);
  }

  /** As the real one: no link anywhere on the way nor at the end, owner first, then mode. */
  async changeInPlace(path: string, change: AttributeChange): Promise<void> {
    this.fault('changeInPlace', path);
    const real = this.resolve(path, false);
    const node = this.existing(real, path);
    if (real !== norm(path) || node.type === 'symlink')
      throw errnoError(
        'ELOOP',
        `${path} leads through a symbolic link; rport never changes a file through a link`,
      );
    if (node.type !== 'file') throw errnoError('EINVAL', `${path} is not a regular file`);
    if (change.uid !== undefined || change.gid !== undefined) await this.chown(real, change);
    if (change.mode !== undefined) await this.chmod(real, change.mode);
  }

  async lookup(ownership: Ownership): Promise<AccountIds> {
    this.fault('lookup', '');
    const ids: AccountIds = {};
    if (ownership.user !== undefined) ids.uid = idOf(ownership.user, this.accounts.users, 'user');
    if (ownership.group !== undefined) ids.gid = idOf(ownership.group, this.accounts.groups, 'group');
    return ids;
  }

  async place(tempPath: string, destination: string, dirMode: number): Promise<void> {
    this.fault('place', destination);
    const from = this.resolve(tempPath, false);
    const node = this.disk.nodes.get(from);
    if (!node || node.type !== 'file') throw errnoError('ENOENT', `rename '${tempPath}': no such file`);
    const parent = this.ensureDirs(posix.dirname(norm(destination)), dirMode);
    const to = posix.join(parent, posix.basename(norm(destination)));
    const target = this.disk.nodes.get(to);
    if (target?.type === 'directory')
      throw errnoError('EISDIR', `rename '${tempPath}' -> '${destination}': is a directory`);
    this.requireWritableDir(posix.dirname(from), tempPath);
    this.requireWritableDir(parent, destination);
    this.requireStickyRights(parent, target, destination);
    // One step: the destination goes from old to new with no moment in between.
    this.disk.nodes.delete(from);
    this.disk.nodes.set(to, node);
    this.changed('place', to);
  }

  async backup(destination: string, stamp: string): Promise<string> {
    this.fault('backup', destination);
    const real = this.resolve(destination, false);
    const node = this.existing(real, destination);
    if (node.type !== 'file') throw errnoError('EISDIR', `'${destination}' is not a regular file`);
    const path = `${real}.${stamp}.bak`;
    // A hard link's rules: nothing at the new name is replaced or followed, and owner and mode stay.
    if (this.disk.nodes.has(path)) throw errnoError('EEXIST', `link '${path}': file exists`);
    this.requireWritableDir(posix.dirname(path), path);
    this.disk.nodes.set(path, { ...node, data: Uint8Array.from(node.data) });
    this.changed('backup', path);
    return path;
  }

  async listBeside(path: string): Promise<DirectoryEntry[]> {
    this.fault('listBeside', path);
    const dir = posix.dirname(this.resolve(path, false));
    const node = this.existing(dir, dir);
    if (!this.can(node, 4)) throw errnoError('EACCES', `scandir '${dir}': permission denied`);
    return this.list(dir)
      .filter((p) => p !== dir && posix.dirname(p) === dir)
      .map((p) => ({ name: posix.basename(p), type: this.disk.nodes.get(p)!.type }));
  }

  async removeBeside(path: string, name: string): Promise<boolean> {
    this.fault('removeBeside', path);
    const target = posix.join(posix.dirname(this.resolve(path, false)), name);
    if (this.disk.nodes.get(target)?.type !== 'file') return false;
    await this.remove(target);
    return true;
  }

  async remove(path: string): Promise<void> {
    this.fault('remove', path);
    const real = this.resolve(path, false);
    const node = this.disk.nodes.get(real);
    if (!node) return;
    if (node.type === 'directory') throw errnoError('EISDIR', `unlink '${path}': is a directory`);
    this.requireWritableDir(posix.dirname(real), path);
    this.requireStickyRights(posix.dirname(real), node, path);
    this.disk.nodes.delete(real);
    this.changed('remove', real);
  }

  // ---- set-up and inspection for tests (done as root, no permission checks) ------------------

  mkdirp(path: string, meta: Partial<Meta> = {}): void {
    let cur = '/';
    for (const part of norm(path).split('/').filter(Boolean)) {
      cur = posix.join(cur, part);
      const node = this.disk.nodes.get(cur);
      if (!node)
        this.disk.nodes.set(cur, {
          type: 'directory',
          mode: meta.mode ?? 0o755,
          uid: meta.uid ?? 0,
          gid: meta.gid ?? 0,
        });
      else if (node.type === 'file') throw errnoError('ENOTDIR', `${cur} is a file`);
    }
  }

  writeFile(path: string, content: Uint8Array | string, meta: Partial<Meta> = {}): void {
    const p = norm(path);
    this.mkdirp(posix.dirname(p));
    const data = typeof content === 'string' ? new TextEncoder().encode(content) : Uint8Array.from(content);
    this.disk.nodes.set(p, {
      type: 'file',
      data,
      mode: meta.mode ?? 0o644,
      uid: meta.uid ?? 0,
      gid: meta.gid ?? 0,
    });
  }

  symlink(path: string, target: string, meta: Partial<Meta> = {}): void {
    const p = norm(path);
    this.mkdirp(posix.dirname(p));
    this.disk.nodes.set(p, { type: 'symlink', target, mode: 0o777, uid: meta.uid ?? 0, gid: meta.gid ?? 0 });
  }

  /** Content of a file (following links); undefined when there is no file. */
  read(path: string): Uint8Array | undefined {
    const node = this.disk.nodes.get(this.resolve(path, true));
    return node?.type === 'file' ? node.data : undefined;
  }

  readText(path: string): string | undefined {
    const data = this.read(path);
    return data && new TextDecoder().decode(data);
  }

  /** lstat without going through the port (no faults). */
  lstat(path: string): { type: Node['type']; mode: number; uid: number; gid: number } | undefined {
    const node = this.disk.nodes.get(this.resolve(path, false));
    return node && { type: node.type, mode: node.mode, uid: node.uid, gid: node.gid };
  }

  /** Every path under prefix, sorted. */
  list(prefix = '/'): string[] {
    const p = norm(prefix);
    return [...this.disk.nodes.keys()]
      .filter((k) => k === p || k.startsWith(p === '/' ? '/' : p + '/'))
      .sort();
  }

  /** Files left in `{data_dir}/filepush/`. */
  tempFiles(): string[] {
    return this.list(this.filepushDir).filter((p) => p !== this.filepushDir);
  }

  /** Makes the next `times` calls of op (on path, when given) throw an error with this code. */
  inject(op: LocalFilesOp, code: string, opts: { path?: string; times?: number } = {}): void {
    this.disk.faults.push({ op, code, path: opts.path, times: opts.times ?? 1 });
  }

  /** Called after every change on this host; returns the unsubscribe function. */
  onChange(listener: ChangeListener): () => void {
    this.disk.listeners.add(listener);
    return () => this.disk.listeners.delete(listener);
  }

  // ---- internals ----------------------------------------------------------------------------

  /** The real path: symlinks of parents resolved, and of the last part too when followFinal. */
  private resolve(path: string, followFinal: boolean): string {
    let parts = norm(path).split('/').filter(Boolean);
    let cur = '/';
    let hops = 0;
    while (parts.length > 0) {
      const part = parts.shift() as string;
      if (part === '..') {
        cur = posix.dirname(cur);
        continue;
      }
      const here = this.disk.nodes.get(cur);
      if (here && here.type !== 'directory')
        throw errnoError('ENOTDIR', `${path}: ${cur} is not a directory`);
      const next = posix.join(cur, part);
      const node = this.disk.nodes.get(next);
      if (node?.type === 'symlink' && (parts.length > 0 || followFinal)) {
        if (++hops > 40) throw errnoError('ELOOP', `${path}: too many levels of symbolic links`);
        const target = node.target.startsWith('/') ? node.target : posix.join(cur, node.target);
        parts = [...target.split('/').filter(Boolean), ...parts];
        cur = '/';
        continue;
      }
      cur = next;
    }
    return cur;
  }

  private existing(real: string, asGiven: string): Node {
    const node = this.disk.nodes.get(real);
    if (!node) throw errnoError('ENOENT', `'${asGiven}': no such file or directory`);
    return node;
  }

  private fileAt(path: string): Node & { type: 'file' } {
    const node = this.existing(this.resolve(path, true), path);
    if (node.type !== 'file') throw errnoError('EISDIR', `'${path}' is not a regular file`);
    return node;
  }

  /** Creates missing directories (as this user, with dirMode) and returns the real directory path. */
  private ensureDirs(dir: string, dirMode: number): string {
    const real = this.resolve(dir, true);
    let cur = '/';
    for (const part of real.split('/').filter(Boolean)) {
      const next = posix.join(cur, part);
      const node = this.disk.nodes.get(next);
      if (!node) {
        this.requireWritableDir(cur, next);
        this.disk.nodes.set(next, {
          type: 'directory',
          mode: dirMode & 0o7777,
          uid: this.uid,
          gid: this.gid,
        });
        this.changed('mkdir', next);
      } else if (node.type !== 'directory') throw errnoError('ENOTDIR', `mkdir '${next}': not a directory`);
      cur = next;
    }
    return real;
  }

  private requireWritableDir(dir: string, forPath: string): void {
    const node = this.disk.nodes.get(dir);
    if (!node || node.type !== 'directory')
      throw errnoError('ENOENT', `'${forPath}': directory ${dir} does not exist`);
    if (!this.can(node, 2) || !this.can(node, 1))
      throw errnoError(
        'EACCES',
        `'${forPath}': permission denied (directory ${dir} is not writable by uid ${this.uid})`,
      );
  }

  /** In a sticky directory (like /tmp) only the owner of an entry, or of the directory, may replace it. */
  private requireStickyRights(dir: string, entry: Node | undefined, forPath: string): void {
    const d = this.disk.nodes.get(dir);
    if (!entry || !d || this.uid === 0 || !(d.mode & 0o1000)) return;
    if (entry.uid !== this.uid && d.uid !== this.uid)
      throw errnoError('EPERM', `'${forPath}': operation not permitted (sticky directory ${dir})`);
  }

  private can(node: Meta, bit: 4 | 2 | 1): boolean {
    if (this.uid === 0) return true;
    if (node.uid === this.uid) return ((node.mode >> 6) & bit) !== 0;
    if (this.inGroup(node.gid)) return ((node.mode >> 3) & bit) !== 0;
    return (node.mode & bit) !== 0;
  }

  private inGroup(gid: number): boolean {
    return gid === this.gid || this.memberOf.includes(gid);
  }

  private fault(op: LocalFilesOp, path: string): void {
    const f = this.disk.faults.find((x) => x.op === op && (x.path === undefined || x.path === path));
    if (!f) return;
    if (--f.times <= 0) this.disk.faults = this.disk.faults.filter((x) => x !== f);
    throw errnoError(f.code, `${op} '${path}': injected fault`);
  }

  private changed(op: string, path: string): void {
    for (const l of [...this.disk.listeners]) l(op, path);
  }
}

function idOf(name: string, table: Record<string, number>, kind: 'user' | 'group'): number {
  if (/^[0-9]+$/.test(name)) return Number(name);
  const id = table[name];
  if (id === undefined) throw errnoError('ENOENT', `unknown ${kind} "${name}" on this client`);
  return id;
}
