// One stateful fake of the whole LocalFiles port: a POSIX tree with modes, owners, links, faults and
// change observers. The tree and the permission model are in memory-disk.ts, the host and the tests'
// helpers in memory-host.ts; this file holds the port's operations over them.
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
import { idOf, norm, type Node } from './memory-disk.ts';
import { MemoryHost } from './memory-host.ts';

/**
 * A fake POSIX filesystem: files, directories and symlinks with modes and owners, seen as one OS
 * user. Permission checks follow POSIX for writes into directories (w+x on the parent, the sticky
 * bit) and for chmod/chown; search permission on the way down is not checked.
 */
export class MemoryLocalFiles extends MemoryHost implements LocalFiles {
  /** The same host seen by another user (root for privileged operations). */
  asUser(uid: number, gid: number, memberOf: number[] = []): MemoryLocalFiles {
    return new MemoryLocalFiles(
      { dataDir: this.dataDir, uid, gid, memberOf, accounts: this.accounts },
      this.disk,
    );
  }

  // ---- LocalFiles -------------------------------------------------------------------------

  async status(path: string): Promise<FileStatus | undefined> {
    this.view.fault('status', path);
    const node = this.disk.nodes.get(this.view.resolve(path, false));
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
    this.view.fault('resolveParents', path);
    return this.view.resolve(path, false);
  }

  async md5(path: string): Promise<string> {
    this.view.fault('md5', path);
    const node = this.view.fileAt(path);
    if (!this.view.can(node, 4)) throw errnoError('EACCES', `open '${path}': permission denied`);
    return createHash('md5').update(node.data).digest('hex');
  }

  async readUpTo(path: string, maxBytes: number): Promise<Uint8Array | undefined> {
    this.view.fault('readUpTo', path);
    const node = this.view.existing(this.view.resolve(path, false), path);
    if (node.type === 'symlink') throw errnoError('ELOOP', `open '${path}': too many symbolic links`);
    if (node.type !== 'file') throw errnoError('EINVAL', `${path} is not a regular file`);
    if (!this.view.can(node, 4)) throw errnoError('EACCES', `open '${path}': permission denied`);
    return node.data.byteLength > maxBytes ? undefined : Uint8Array.from(node.data);
  }

  async writeTemp(name: string, content: AsyncIterable<Uint8Array>, compareWith?: string): Promise<TempFile> {
    this.view.fault('writeTemp', name);
    if (name.includes('/') || name === '' || name === '.' || name === '..')
      throw errnoError('EINVAL', `temp file name "${name}" is not a plain file name`);
    const path = posix.join(this.filepushDir, name);
    if (this.disk.nodes.has(path)) throw errnoError('EEXIST', `open '${path}': file already exists`);
    this.view.requireWritableDir(this.filepushDir, path);
    const node: Node = { type: 'file', data: new Uint8Array(0), mode: 0o600, uid: this.uid, gid: this.gid };
    this.disk.nodes.set(path, node);
    this.view.changed('writeTemp', path);
    const md5 = createHash('md5');
    const old = compareWith === undefined ? undefined : this.comparable(compareWith);
    try {
      for await (const chunk of content) {
        md5.update(chunk);
        node.data = Buffer.concat([node.data, chunk]);
        this.view.changed('write', path);
      }
    } catch (e) {
      if (this.disk.nodes.get(path) === node) this.disk.nodes.delete(path);
      this.view.changed('remove', path);
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
      const real = this.view.resolve(path, false);
      const node = this.disk.nodes.get(real);
      if (node?.type !== 'file' || !this.view.can(node, 4)) return undefined;
      return { real, node, data: node.data };
    } catch {
      return undefined;
    }
  }

  async chmod(path: string, mode: number): Promise<void> {
    this.view.fault('chmod', path);
    const real = this.view.resolve(path, true);
    const node = this.view.existing(real, path);
    if (this.uid !== 0 && node.uid !== this.uid)
      throw errnoError('EPERM', `chmod '${path}': operation not permitted`);
    node.mode = mode & 0o7777;
    this.view.changed('chmod', real);
  }

  async chown(path: string, ids: AccountIds): Promise<void> {
    this.view.fault('chown', path);
    const real = this.view.resolve(path, true);
    const node = this.view.existing(real, path);
    const uid = ids.uid ?? node.uid;
    const gid = ids.gid ?? node.gid;
    if (this.uid !== 0) {
      // An unprivileged owner may only move its file to one of its own groups.
      const allowed =
        node.uid === this.uid && uid === node.uid && (gid === node.gid || this.view.inGroup(gid));
      if (!allowed) throw errnoError('EPERM', `chown '${path}' to ${uid}:${gid}: operation not permitted`);
    }
    if (node.type === 'file' && (uid !== node.uid || gid !== node.gid)) node.mode &= ~0o6000; // as Linux does
    node.uid = uid;
    node.gid = gid;
    this.view.changed('chown', real);
  }

  /** As the real one: no link anywhere on the way nor at the end, owner first, then mode. */
  async changeInPlace(path: string, change: AttributeChange): Promise<void> {
    this.view.fault('changeInPlace', path);
    const real = this.view.resolve(path, false);
    const node = this.view.existing(real, path);
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
    this.view.fault('lookup', '');
    const ids: AccountIds = {};
    if (ownership.user !== undefined) ids.uid = idOf(ownership.user, this.accounts.users, 'user');
    if (ownership.group !== undefined) ids.gid = idOf(ownership.group, this.accounts.groups, 'group');
    return ids;
  }

  async place(tempPath: string, destination: string, dirMode: number): Promise<void> {
    this.view.fault('place', destination);
    const from = this.view.resolve(tempPath, false);
    const node = this.disk.nodes.get(from);
    if (!node || node.type !== 'file') throw errnoError('ENOENT', `rename '${tempPath}': no such file`);
    const parent = this.view.ensureDirs(posix.dirname(norm(destination)), dirMode);
    const to = posix.join(parent, posix.basename(norm(destination)));
    const target = this.disk.nodes.get(to);
    if (target?.type === 'directory')
      throw errnoError('EISDIR', `rename '${tempPath}' -> '${destination}': is a directory`);
    this.view.requireWritableDir(posix.dirname(from), tempPath);
    this.view.requireWritableDir(parent, destination);
    this.view.requireStickyRights(parent, target, destination);
    // One step: the destination goes from old to new with no moment in between.
    this.disk.nodes.delete(from);
    this.disk.nodes.set(to, node);
    this.view.changed('place', to);
  }

  async backup(destination: string, stamp: string): Promise<string> {
    this.view.fault('backup', destination);
    const real = this.view.resolve(destination, false);
    const node = this.view.existing(real, destination);
    if (node.type !== 'file') throw errnoError('EISDIR', `'${destination}' is not a regular file`);
    const path = `${real}.${stamp}.bak`;
    // A hard link's rules: nothing at the new name is replaced or followed, and owner and mode stay.
    if (this.disk.nodes.has(path)) throw errnoError('EEXIST', `link '${path}': file exists`);
    this.view.requireWritableDir(posix.dirname(path), path);
    this.disk.nodes.set(path, { ...node, data: Uint8Array.from(node.data) });
    this.view.changed('backup', path);
    return path;
  }

  async listBeside(path: string): Promise<DirectoryEntry[]> {
    this.view.fault('listBeside', path);
    const dir = posix.dirname(this.view.resolve(path, false));
    const node = this.view.existing(dir, dir);
    if (!this.view.can(node, 4)) throw errnoError('EACCES', `scandir '${dir}': permission denied`);
    return this.list(dir)
      .filter((p) => p !== dir && posix.dirname(p) === dir)
      .map((p) => ({ name: posix.basename(p), type: this.disk.nodes.get(p)!.type }));
  }

  async removeBeside(path: string, name: string): Promise<boolean> {
    this.view.fault('removeBeside', path);
    const target = posix.join(posix.dirname(this.view.resolve(path, false)), name);
    if (this.disk.nodes.get(target)?.type !== 'file') return false;
    await this.remove(target);
    return true;
  }

  async remove(path: string): Promise<void> {
    this.view.fault('remove', path);
    const real = this.view.resolve(path, false);
    const node = this.disk.nodes.get(real);
    if (!node) return;
    if (node.type === 'directory') throw errnoError('EISDIR', `unlink '${path}': is a directory`);
    this.view.requireWritableDir(posix.dirname(real), path);
    this.view.requireStickyRights(posix.dirname(real), node, path);
    this.disk.nodes.delete(real);
    this.view.changed('remove', real);
  }
}
