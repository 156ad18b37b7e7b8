import { constants, type Stats } from 'node:fs';
import { open } from 'node:fs/promises';

/** A small staged file read into memory once, shared by every SFTP session that pushes it. */
export interface HeldContent {
  bytes: Buffer;
  stats: Stats;
}

interface Entry {
  /** Settles once the file is read, or to undefined when it is not held (too large, no room left). */
  loading: Promise<HeldContent | undefined>;
  /** Bytes counted against the total (0 until loaded, and for a file not held). */
  size: number;
  /** Open SFTP handles on it. */
  users: number;
  linger?: NodeJS.Timeout;
}

interface StagedContentsLimits {
  /** Larger staged files are read from disk, READ by READ. */
  maxFileBytes: number;
  /** Bytes held in all. */
  maxTotalBytes: number;
  /** How long a file stays held once its last handle closes: the next clients of a fan-out open it again. */
  lingerMs: number;
}

export const DEFAULT_STAGED_CONTENTS_LIMITS: StagedContentsLimits = {
  maxFileBytes: 4 * 1024 * 1024,
  maxTotalBytes: 32 * 1024 * 1024,
  lingerMs: 5000,
};

/**
 * Server side: small staged files (a config file, a certificate, a package of a few MiB) held in memory
 * while clients fetch them. A fan-out to 1000 clients then reads the file from disk once, not 1000 times
 * and READ by READ: each READ is answered from memory at once, with no open, fstat, pread and close on
 * the thread pool per client. Bounded in file size and in total; anything beyond is read from disk.
 * Staged files never change once staged (a new upload gets a new name), so a held copy cannot go stale.
 */
export class StagedContents {
  private readonly entries = new Map<string, Entry>();
  private total = 0;

  constructor(private readonly limits: StagedContentsLimits = DEFAULT_STAGED_CONTENTS_LIMITS) {}

  /** The file's content for one more handle, or undefined when it is read from disk; either way, pair with release(path). */
  async acquire(path: string): Promise<HeldContent | undefined> {
    let entry = this.entries.get(path);
    if (!entry) {
      const fresh: Entry = { loading: Promise.resolve(undefined), size: 0, users: 0 };
      fresh.loading = this.load(path, fresh);
      this.entries.set(path, (entry = fresh));
    }
    entry.users += 1;
    clearTimeout(entry.linger);
    entry.linger = undefined;
    return entry.loading;
  }

  /** One handle on it closed; the last starts the linger. */
  release(path: string): void {
    const entry = this.entries.get(path);
    if (!entry || entry.users === 0) return;
    entry.users -= 1;
    if (entry.users > 0) return;
    entry.linger = setTimeout(() => this.drop(path, entry), this.limits.lingerMs);
    entry.linger.unref();
  }

  /** Bytes held now. */
  get heldBytes(): number {
    return this.total;
  }

  private drop(path: string, entry: Entry): void {
    if (this.entries.get(path) !== entry || entry.users > 0) return;
    this.entries.delete(path);
    this.total -= entry.size;
  }

  private async load(path: string, entry: Entry): Promise<HeldContent | undefined> {
    try {
      // O_NOFOLLOW: the staging dir is ours, but never follow a link planted there.
      const fh = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW);
      try {
        const stats = await fh.stat();
        if (
          !stats.isFile() ||
          stats.size > this.limits.maxFileBytes ||
          this.total + stats.size > this.limits.maxTotalBytes
        )
          return undefined;
        // Counted before the read, so concurrent loads cannot overshoot the total together.
        entry.size = stats.size;
        this.total += stats.size;
        const bytes = Buffer.allocUnsafeSlow(stats.size);
        let at = 0;
        while (at < bytes.length) {
          const { bytesRead } = await fh.read(bytes, at, bytes.length - at, at);
          if (bytesRead === 0) throw new Error(`${path} shrank while it was read`);
          at += bytesRead;
        }
        return { bytes, stats };
      } finally {
        await fh.close();
      }
    } catch {
      // Not held: the caller opens the file itself and reports what it finds.
      this.total -= entry.size;
      entry.size = 0;
      return undefined;
    }
  }
}
