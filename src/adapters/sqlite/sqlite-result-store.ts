import type { OutcomeStatus, PushOutcome } from '../../domain/outcome.ts';
import type { PendingTarget, PendingTargets, ResultStore } from '../../ports/result-store.ts';
import { statement, type SqliteDb } from './sqlite-database.ts';

interface StoredResult {
  client_id: string;
  status: OutcomeStatus | 'pending';
  message: string;
  filepath: string;
  size: number;
  attempt: number;
  updated_at: string;
}

/** Per-upload, per-client results; a client's first final outcome is kept. */
export class SqliteResultStore implements ResultStore, PendingTargets {
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

  async note(uuid: string, clientId: string, message: string): Promise<void> {
    statement(
      this.db,
      `UPDATE upload_results SET message = ?, updated_at = ? WHERE uuid = ? AND client_id = ? AND status = 'pending'`,
    ).run(message, new Date().toISOString(), uuid, clientId);
  }

  async reopen(uuid: string): Promise<string[]> {
    const rows = statement(
      this.db,
      `UPDATE upload_results SET status = 'pending', message = '', filepath = '', size = 0,
         attempt = attempt + 1, updated_at = ? WHERE uuid = ? AND status = 'error' RETURNING client_id`,
    ).all(new Date().toISOString(), uuid) as { client_id: string }[];
    return rows.map((r) => r.client_id).sort();
  }

  /** Every target of an upload with its latest outcome; empty when the uuid is unknown. */
  async targets(uuid: string): Promise<StoredResult[]> {
    return statement(
      this.db,
      'SELECT client_id, status, message, filepath, size, attempt, updated_at FROM upload_results WHERE uuid = ? ORDER BY client_id',
    ).all(uuid) as StoredResult[];
  }

  /**
   * Every target still pending, oldest upload first. Who asked comes from the upload's `accepted`
   * audit entry, written in the same database right after the targets (empty if a crash came between).
   */
  async pendingTargets(): Promise<PendingTarget[]> {
    return statement(
      this.db,
      `SELECT r.uuid, r.client_id, COALESCE(
           (SELECT a.username FROM audit_log a
             WHERE a.upload_uuid = r.uuid AND a.action = 'accepted' AND a.client_id IS NULL LIMIT 1), ''
         ) AS requested_by
         FROM upload_results r WHERE r.status = 'pending' ORDER BY r.updated_at, r.uuid, r.client_id`,
    ).all() as PendingTarget[];
  }
}
