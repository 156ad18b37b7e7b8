import type { DatabaseHealth, DatabaseState } from '../../ports/database-health.ts';

/** SQLite is a file in data_dir, opened at start: there is no server that can go away. */
export class SqliteHealth implements DatabaseHealth {
  readonly kind = 'sqlite';
  async check(): Promise<DatabaseState> {
    return { ok: true };
  }
}
