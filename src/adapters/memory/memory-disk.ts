// The tree and the permission model behind MemoryLocalFiles: one simulated host's nodes, faults and
// change listeners (Disk), and one OS user's view of them (DiskView: path resolution through links,
// POSIX write and sticky-bit checks, injected faults). Apart from the port's operations so that each
// file stays small; only memory-local-files.ts uses them.
import { posix } from 'node:path';
import { errnoError } from './errno-error.ts';

export interface Meta {
  mode: number;
  uid: number;
  gid: number;
}
export type Node =
  | (Meta & { type: 'file'; data: Uint8Array })
  | (Meta & { type: 'directory' })
  | (Meta & { type: 'symlink'; target: string });

export type LocalFilesOp =
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

export interface MemoryAccounts {
  /** user name -> uid */
  users: Record<string, number>;
  /** group name -> gid */
  groups: Record<string, number>;
}

export interface MemoryLocalFilesOptions {
  /** `{data_dir}` of the agent; temp files go to `{data_dir}/filepush/`. */
  dataDir: string;
  /** The agent's OS user; 0 is root, who may do anything. */
  uid: number;
  gid: number;
  /** Supplementary groups of the agent's user. */
  memberOf?: number[];
  accounts?: MemoryAccounts;
}

export type ChangeListener = (op: string, path: string) => void;

interface Fault {
  op: LocalFilesOp;
  code: string;
  path?: string;
  times: number;
}

/** The state shared by every user's view of one simulated host. */
export class Disk {
  readonly nodes = new Map<string, Node>([['/', { type: 'directory', mode: 0o755, uid: 0, gid: 0 }]]);
  readonly listeners = new Set<ChangeListener>();
  faults: Fault[] = [];
}

export const norm = (p: string): string => {
  if (!p.startsWith('/')) throw errnoError('EINVAL', `${p} is not an absolute path`);
  const n = posix.normalize(p);
  return n.length > 1 && n.endsWith('/') ? n.slice(0, -1) : n;
};

/** One OS user's view of a Disk. */
export class DiskView {
  constructor(
    readonly disk: Disk,
    readonly uid: number,
    readonly gid: number,
    private readonly memberOf: number[],
  ) {}

  /** The real path: symlinks of parents resolved, and of the last part too when followFinal. */
  resolve(path: string, followFinal: boolean): string {
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

  existing(real: string, asGiven: string): Node {
    const node = this.disk.nodes.get(real);
    if (!node) throw errnoError('ENOENT', `'${asGiven}': no such file or directory`);
    return node;
  }

  fileAt(path: string): Node & { type: 'file' } {
    const node = this.existing(this.resolve(path, true), path);
    if (node.type !== 'file') throw errnoError('EISDIR', `'${path}' is not a regular file`);
    return node;
  }

  /** Creates missing directories (as this user, with dirMode) and returns the real directory path. */
  ensureDirs(dir: string, dirMode: number): string {
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

  requireWritableDir(dir: string, forPath: string): void {
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
  requireStickyRights(dir: string, entry: Node | undefined, forPath: string): void {
    const d = this.disk.nodes.get(dir);
    if (!entry || !d || this.uid === 0 || !(d.mode & 0o1000)) return;
    if (entry.uid !== this.uid && d.uid !== this.uid)
      throw errnoError('EPERM', `'${forPath}': operation not permitted (sticky directory ${dir})`);
  }

  can(node: Meta, bit: 4 | 2 | 1): boolean {
    if (this.uid === 0) return true;
    if (node.uid === this.uid) return ((node.mode >> 6) & bit) !== 0;
    if (this.inGroup(node.gid)) return ((node.mode >> 3) & bit) !== 0;
    return (node.mode & bit) !== 0;
  }

  inGroup(gid: number): boolean {
    return gid === this.gid || this.memberOf.includes(gid);
  }

  fault(op: LocalFilesOp, path: string): void {
    const f = this.disk.faults.find((x) => x.op === op && (x.path === undefined || x.path === path));
    if (!f) return;
    if (--f.times <= 0) this.disk.faults = this.disk.faults.filter((x) => x !== f);
    throw errnoError(f.code, `${op} '${path}': injected fault`);
  }

  changed(op: string, path: string): void {
    for (const l of [...this.disk.listeners]) l(op, path);
  }
}

export function idOf(name: string, table: Record<string, number>, kind: 'user' | 'group'): number {
  if (/^[0-9]+$/.test(name)) return Number(name);
  const id = table[name];
  if (id === undefined) throw errnoError('ENOENT', `unknown ${kind} "${name}" on this client`);
  return id;
}
