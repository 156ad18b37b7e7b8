import Database from 'better-sqlite3';
import { closeSync, openSync } from 'node:fs';
import { join } from 'node:path';
import { tightenMode } from '../fs/tighten-mode.ts';

const LOCK_FILE = 'rportd.lock';

/**
 * Says "an rportd uses this data_dir": an exclusive SQLite lock on `{data_dir}/rportd.lock`, held
 * while the process runs. The operating system drops it when the process ends, even on a crash or
 * kill -9, so a stale lock never stays behind (as a pid file could).
 */
export class DataDirLock {
  private constructor(private readonly db: Database.Database) {}

  /** The lock, or undefined when another process holds it. */
  static take(dataDir: string): DataDirLock | undefined {
    const path = join(dataDir, LOCK_FILE);
    closeSync(openSync(path, 'a', 0o600));
    tightenMode(path, 0o600);
    // No busy timeout: a held lock is an answer, not something to wait for.
    const db = new Database(path, { timeout: 0 });
    try {
      // In exclusive locking mode the lock a transaction takes stays after it ends, until close.
      db.pragma('locking_mode = EXCLUSIVE');
      db.exec('BEGIN EXCLUSIVE; COMMIT');
      return new DataDirLock(db);
    } catch (e) {
      db.close();
      if ((e as { code?: string }).code === 'SQLITE_BUSY') return undefined;
      throw e;
    }
  }

  release(): void {
    if (this.db.open) this.db.close();
  }
}
