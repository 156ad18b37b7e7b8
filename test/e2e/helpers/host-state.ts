// What a test that acts on the host as root (users, /etc, /var/lib) found there, so that it can put
// everything back: files it may replace are kept and restored, paths and users it creates are removed.
import { execFileSync } from 'node:child_process';
import { existsSync, lstatSync } from 'node:fs';
import { chmod, chown, lstat, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';

interface Kept {
  path: string;
  content?: Buffer;
  mode?: number;
  uid?: number;
  gid?: number;
}

export const userExists = (name: string): boolean => {
  try {
    execFileSync('id', ['-u', name], { stdio: 'pipe' });
    return true;
  } catch {
    return false;
  }
};

export class HostState {
  private kept: Kept[] = [];
  private created: string[] = [];
  private users: string[] = [];

  /** The first of `paths` that exists already (the test would clobber it), or undefined. */
  static firstPresent(paths: string[]): string | undefined {
    return paths.find((p) => {
      try {
        lstatSync(p);
        return true;
      } catch {
        return false;
      }
    });
  }

  /** Keeps the content, mode and owner of each regular file (or its absence), to be restored by `restore`. */
  async keep(paths: string[]): Promise<void> {
    for (const path of paths) {
      const s = await lstat(path).catch(() => undefined);
      this.kept.push(
        s ? { path, content: await readFile(path), mode: s.mode & 0o7777, uid: s.uid, gid: s.gid } : { path },
      );
    }
  }

  /** Paths the test will create (or let the README create): removed by `restore`. */
  willCreate(...paths: string[]): void {
    this.created.push(...paths);
  }

  /** Makes dir (and missing parents); the topmost directory it made is removed by `restore`. */
  async ensureDir(dir: string): Promise<void> {
    let top: string | undefined;
    for (let d = dir; !existsSync(d); d = dirname(d)) top = d;
    await mkdir(dir, { recursive: true, mode: 0o755 });
    if (top) this.created.push(top);
  }

  /** Users that do not exist yet and that the test will create: deleted by `restore`. */
  willCreateUsers(names: string[]): void {
    this.users.push(...names.filter((n) => !userExists(n)));
  }

  async restore(): Promise<string[]> {
    const problems: string[] = [];
    for (const k of this.kept.reverse()) {
      try {
        if (k.content === undefined) await rm(k.path, { force: true });
        else {
          await mkdir(dirname(k.path), { recursive: true });
          await writeFile(k.path, k.content);
          await chown(k.path, k.uid!, k.gid!);
          await chmod(k.path, k.mode!);
        }
      } catch (e) {
        problems.push(`restore ${k.path}: ${(e as Error).message}`);
      }
    }
    for (const p of this.created.reverse()) await rm(p, { recursive: true, force: true });
    for (const u of this.users) {
      if (!userExists(u)) continue;
      try {
        execFileSync('userdel', [u], { stdio: 'pipe' });
      } catch (e) {
        problems.push(`userdel ${u}: ${String((e as { stderr?: unknown }).stderr ?? e)}`);
      }
    }
    return problems;
  }
}
