/**
 * One connection's grants: the staged file of each push live for it, opened once and holding one
 * transfer slot, however many SFTP handles and sessions of that connection refer to it. An agent
 * therefore holds at most one transfer slot and one open file per live push, whatever it pipelines.
 * A grant lets go of its file and slot when its last handle closes, when its push is settled
 * (verdict, timeout, cancel) or when the connection ends. Separate because it outlives any one SFTP
 * session and is driven by the control channel as much as by SFTP.
 */
import { constants, type Stats } from 'node:fs';
import { lstat, open, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import type { HeldContent, StagedContents } from './staged-contents.ts';
import type { TransferSlots } from './transfer-slots.ts';

/** The staged file behind a grant: open, or held in memory (contents). */
export interface GrantedFile {
  fh?: FileHandle;
  held?: HeldContent;
  stats: Stats;
}

export interface Grant {
  readonly name: string;
  /** Settles once the slot is taken and the file open; rejects with the reason it could not be. */
  ready: Promise<GrantedFile>;
  /** True once the grant let go of its file: every handle on it is dead. */
  revoked: boolean;
}

interface Entry extends Grant {
  users: number;
  /** Told when the grant is revoked (the SFTP sessions drop their handles on it). */
  readonly onRevoke: Set<() => void>;
}

interface PushGrantsDeps {
  stagingDir: string;
  slots: TransferSlots;
  contents?: StagedContents;
}

export class PushGrants {
  private readonly grants = new Map<string, Entry>();
  /** The stats of live staged files asked for by name (STAT before OPEN): one lstat per push, not per request. */
  private readonly stats = new Map<string, Promise<Stats>>();
  private ended = false;

  constructor(private readonly deps: PushGrantsDeps) {}

  /**
   * One more handle on the file of a live push: the first takes a slot and opens the file, the
   * others share them. Counted at once (before any await); pair with give(), and call onRevoke to
   * hear when the grant ends under the handle.
   */
  take(name: string): Grant {
    let entry = this.grants.get(name);
    if (!entry || entry.revoked) {
      const fresh: Entry = {
        name,
        users: 0,
        revoked: this.ended,
        onRevoke: new Set(),
        ready: Promise.resolve({} as GrantedFile),
      };
      fresh.ready = this.load(fresh);
      // A rejected load is seen by whoever awaits ready; this keeps an unawaited one quiet.
      fresh.ready.catch(() => undefined);
      if (!this.ended) this.grants.set(name, fresh);
      entry = fresh;
    }
    entry.users += 1;
    return entry;
  }

  /** A handle on the grant closed (or its OPEN failed); the last one lets go of file and slot. */
  give(grant: Grant): void {
    const entry = grant as Entry;
    entry.users -= 1;
    if (entry.users <= 0) this.revoke(entry);
  }

  /** Calls fn once if the grant is revoked while a handle still refers to it; returns the unsubscribe. */
  onRevoke(grant: Grant, fn: () => void): () => void {
    const entry = grant as Entry;
    entry.onRevoke.add(fn);
    return () => entry.onRevoke.delete(fn);
  }

  /** The push of that staged name is over for this connection (verdict, timeout, cancel). */
  settled(name: string): void {
    this.stats.delete(name);
    const entry = this.grants.get(name);
    if (entry) this.revoke(entry);
  }

  /** The connection ended: every grant goes, and none is made from now on. */
  closeAll(): void {
    this.ended = true;
    this.stats.clear();
    for (const entry of [...this.grants.values()]) this.revoke(entry);
  }

  /** Open files and transfer slots this connection holds now. */
  get held(): number {
    return this.grants.size;
  }

  /** The stats of a live staged file: from its grant when it has one, otherwise one lstat per push (no file opened). */
  statOf(name: string): Promise<Stats> {
    const entry = this.grants.get(name);
    if (entry && !entry.revoked) return entry.ready.then((f) => f.stats);
    let stats = this.stats.get(name);
    if (!stats) {
      stats = lstat(join(this.deps.stagingDir, name)).then((s) => {
        if (!s.isFile()) throw new Error('not a file');
        return s;
      });
      if (!this.ended) this.stats.set(name, stats);
    }
    return stats;
  }

  private revoke(entry: Entry): void {
    if (entry.revoked) return;
    entry.revoked = true;
    if (this.grants.get(entry.name) === entry) this.grants.delete(entry.name);
    for (const fn of [...entry.onRevoke]) fn();
    entry.onRevoke.clear();
  }

  /** Takes a slot and opens the file; lets go of both once the grant is revoked (or at once, if it already is). */
  private async load(entry: Entry): Promise<GrantedFile> {
    if (entry.revoked) throw new Error('the connection ended');
    const path = join(this.deps.stagingDir, entry.name);
    const slot = await this.deps.slots.acquire();
    const contents = this.deps.contents;
    let fh: FileHandle | undefined;
    let held: HeldContent | undefined;
    const letGo = (): void => {
      slot();
      if (contents) contents.release(path);
      void fh?.close().catch(() => undefined);
    };
    try {
      held = await contents?.acquire(path);
      let stats = held?.stats;
      if (!held) {
        // O_NOFOLLOW: the staging dir is ours, but never follow a link planted there.
        fh = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW);
        stats = await fh.stat();
        if (!stats.isFile()) throw new Error('not a file');
      }
      if (entry.revoked) throw new Error('the push is no longer live');
      entry.onRevoke.add(letGo);
      return { fh, held, stats: stats! };
    } catch (e) {
      letGo();
      throw e;
    }
  }
}
