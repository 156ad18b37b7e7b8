// The host behind MemoryLocalFiles: one user's view of a simulated tree (memory-disk.ts), and the
// helpers tests use to set it up and look at it, done as root without permission checks. The port's
// operations are in memory-local-files.ts, which extends this class.
import { posix } from 'node:path';
import { errnoError } from './errno-error.ts';
import {
  Disk,
  DiskView,
  norm,
  type ChangeListener,
  type LocalFilesOp,
  type MemoryAccounts,
  type MemoryLocalFilesOptions,
  type Meta,
  type Node,
} from './memory-disk.ts';

/** One OS user on a simulated host, with the tests' set-up and inspection helpers. */
export class MemoryHost {
  protected readonly disk: Disk;
  readonly dataDir: string;
  readonly uid: number;
  readonly gid: number;
  protected readonly memberOf: number[];
  protected readonly accounts: MemoryAccounts;
  protected readonly view: DiskView;

  constructor(options: MemoryLocalFilesOptions, disk?: Disk) {
    this.disk = disk ?? new Disk();
    this.dataDir = norm(options.dataDir);
    this.uid = options.uid;
    this.gid = options.gid;
    this.memberOf = options.memberOf ?? [];
    this.accounts = options.accounts ?? { users: { root: 0 }, groups: { root: 0 } };
    this.view = new DiskView(this.disk, this.uid, this.gid, this.memberOf);
    if (!disk) {
      this.mkdirp(this.dataDir, { mode: 0o700, uid: this.uid, gid: this.gid });
      this.mkdirp(this.filepushDir, { mode: 0o700, uid: this.uid, gid: this.gid });
    }
  }

  get filepushDir(): string {
    return posix.join(this.dataDir, 'filepush');
  }

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
    const node = this.disk.nodes.get(this.view.resolve(path, true));
    return node?.type === 'file' ? node.data : undefined;
  }

  readText(path: string): string | undefined {
    const data = this.read(path);
    return data && new TextDecoder().decode(data);
  }

  /** lstat without going through the port (no faults). */
  lstat(path: string): { type: Node['type']; mode: number; uid: number; gid: number } | undefined {
    const node = this.disk.nodes.get(this.view.resolve(path, false));
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
}
