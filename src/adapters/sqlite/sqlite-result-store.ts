import type { OutcomeStatus, PushOutcome } from '../../domain/outcome.ts';
import type { PendingTarget, PendingTargets, ResultStore } from '../../ports/result-store.ts';
import { statement, type SqliteDb } from './sqlite-database.ts';

interface StoredResult {
  client_id: string;
  status: OutcomeStatus | 'pending';
  message: string;
  filepath: string;
  size: number;
  /** null while pending, and for a result an older rportd stored. */
  changed: boolean | null;
  updated_at: string;
}

type StoredRow = Omit<StoredResult, 'changed'> & { changed: number | null };

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
      `INSERT INTO upload_results (uuid, client_id, status, message, filepath, size, changed, updated_at)
         VALUES (@uuid, @client_id, @status, @message, @filepath, @size, @changed, @now)
         ON CONFLICT(uuid, client_id) DO UPDATE SET status = @status, message = @message, filepath = @filepath,
           size = @size, changed = @changed, updated_at = @now WHERE upload_results.status = 'pending'`,
    ).run({ ...o, changed: o.changed ? 1 : 0, now: new Date().toISOString() });
    return r.changes === 1;
  }

  /** Every target of an upload with its latest outcome; empty when the uuid is unknown. */
  async targets(uuid: string): Promise<StoredResult[]> {
    const rows = statement(
      this.db,
      'SELECT client_id, status, message, filepath, size, changed, updated_at FROM upload_results WHERE uuid = ? ORDER BY client_id',
    ).all(uuid) as StoredRow[];
    return rows.map((r) => ({ ...r, changed: r.changed === null ? null : r.changed === 1 }));
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
