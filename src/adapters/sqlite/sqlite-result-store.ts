import type { OutcomeStatus, PushOutcome } from '../../domain/outcome.ts';
import type { ResultStore } from '../../ports/result-store.ts';
import { statement, type SqliteDb } from './sqlite-database.ts';

export interface StoredResult {
  client_id: string;
  status: OutcomeStatus | 'pending';
  message: string;
  filepath: string;
  size: number;
  updated_at: string;
}

/** Per-upload, per-client results; a client's first final outcome is kept. */
export class SqliteResultStore implements ResultStore {
  constructor(private readonly db: SqliteDb) {}

  async begin(uuid: string, clientIds: string[]): Promise<void> {
    const now = new Date().toISOString();
    const add = statement(
      this.db,
      `INSERT OR IGNORE INTO upload_results (uuid, client_id, status, updated_at) VALUES (?, ?, 'pending', ?)`,
    );
    this.db.transaction(() => clientIds.forEach((id) => add.run(uuid, id, now)))();
  }

  async record(o: PushOutcome): Promise<boolean> {
    const r = statement(
      this.db,
      `INSERT INTO upload_results (uuid, client_id, status, message, filepath, size, updated_at)
         VALUES (@uuid, @client_id, @status, @message, @filepath, @size, @now)
         ON CONFLICT(uuid, client_id) DO UPDATE SET status = @status, message = @message, filepath = @filepath,
           size = @size, updated_at = @now WHERE upload_results.status = 'pending'`,
    ).run({ ...o, now: new Date().toISOString() });
    return r.changes === 1;
  }

  /** Every target of an upload with its latest outcome; empty when the uuid is unknown. */
  async targets(uuid: string): Promise<StoredResult[]> {
    return statement(
      this.db,
      'SELECT client_id, status, message, filepath, size, updated_at FROM upload_results WHERE uuid = ? ORDER BY client_id',
    ).all(uuid) as StoredResult[];
  }
}
