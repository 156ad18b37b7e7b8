import type { PushOutcome } from '../../domain/outcome.ts';
import type {
  ListedUpload,
  PendingTarget,
  PendingTargets,
  ResultStore,
  StoredTarget,
  UploadQuery,
  UploadResults,
} from '../../ports/result-store.ts';
import { statement, type SqliteDb } from './sqlite-database.ts';

/**
 * The uploads a listing selects: each upload's `accepted` audit entry (who, when, what), written in
 * the same database right after its targets, filtered on its targets' rows. Every filter is bound,
 * NULL meaning "any", so the SQL text is fixed (prepared once per order).
 */
const SELECTED = `FROM audit_log a
  WHERE a.application = 'uploads' AND a.action = 'accepted' AND a.client_id IS NULL AND a.upload_uuid IS NOT NULL
    AND (@username IS NULL OR a.username = @username)
    AND (@since IS NULL OR a.timestamp >= @since)
    AND (@until IS NULL OR a.timestamp < @until)
    AND (@client_id IS NULL OR EXISTS
      (SELECT 1 FROM upload_results r WHERE r.uuid = a.upload_uuid AND r.client_id = @client_id))
    AND (@status IS NULL OR EXISTS
      (SELECT 1 FROM upload_results r WHERE r.uuid = a.upload_uuid AND r.status = @status))`;

type StoredRow = Omit<StoredTarget, 'changed' | 'diff' | 'backup'> & {
  changed: number | null;
  diff?: string | null;
  backup: string | null;
};

/** A listing holds many uploads: their diffs, each up to tens of KiB, are read one upload at a time. */
const withoutDiffs = (targets: StoredTarget[]): StoredTarget[] => targets.map(({ diff: _diff, ...t }) => t);

/** Per-upload, per-client results; a client's first final outcome is kept. */
export class SqliteResultStore implements ResultStore, UploadResults, PendingTargets {
  constructor(private readonly db: SqliteDb) {}

  async begin(uuid: string, clientIds: string[]): Promise<boolean> {
    const now = new Date().toISOString();
    const known = statement(this.db, 'SELECT 1 FROM upload_results WHERE uuid = ? LIMIT 1');
    const add = statement(
      this.db,
      `INSERT OR IGNORE INTO upload_results (uuid, client_id, status, updated_at) VALUES (?, ?, 'pending', ?)`,
    );
    // One transaction: two uploads claiming the same uuid cannot both see it free.
    return this.db.transaction(() => {
      if (known.get(uuid) !== undefined) return false;
      clientIds.forEach((id) => add.run(uuid, id, now));
      return true;
    })();
  }

  async listUploads(q: UploadQuery): Promise<{ uploads: ListedUpload[]; total: number }> {
    const args = {
      username: q.username ?? null,
      client_id: q.client_id ?? null,
      status: q.status ?? null,
      since: q.since?.toISOString() ?? null,
      until: q.until?.toISOString() ?? null,
    };
    const { n } = statement(this.db, `SELECT COUNT(*) AS n ${SELECTED}`).get(args) as { n: number };
    const order = q.order === 'asc' ? 'ASC' : 'DESC';
    const rows = statement(
      this.db,
      `SELECT a.upload_uuid AS uuid, a.username AS requested_by, a.timestamp AS created_at, a.request ${SELECTED}
         ORDER BY a.timestamp ${order}, a.id ${order} LIMIT @limit OFFSET @offset`,
    ).all({ ...args, limit: q.limit, offset: q.offset }) as (Omit<ListedUpload, 'request' | 'targets'> & {
      request: string;
    })[];
    const uploads = await Promise.all(
      rows.map(async (r) => ({
        ...r,
        request: JSON.parse(r.request) as Record<string, unknown>,
        targets: withoutDiffs(await this.targets(r.uuid)),
      })),
    );
    return { uploads, total: n };
  }

  async record(o: PushOutcome): Promise<boolean> {
    const r = statement(
      this.db,
      `INSERT INTO upload_results (uuid, client_id, status, message, filepath, size, changed, diff, backup, updated_at)
         VALUES (@uuid, @client_id, @status, @message, @filepath, @size, @changed, @diff, @backup, @now)
         ON CONFLICT(uuid, client_id) DO UPDATE SET status = @status, message = @message, filepath = @filepath,
           size = @size, changed = @changed, diff = @diff, backup = @backup, updated_at = @now
           WHERE upload_results.status = 'pending'`,
    ).run({
      ...o,
      changed: o.changed ? 1 : 0,
      diff: o.diff ?? null,
      backup: o.backup ?? null,
      now: new Date().toISOString(),
    });
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
      `UPDATE upload_results SET status = 'pending', message = '', filepath = '', size = 0, changed = NULL, diff = NULL,
         backup = NULL, attempt = attempt + 1, updated_at = ? WHERE uuid = ? AND status = 'error' RETURNING client_id`,
    ).all(new Date().toISOString(), uuid) as { client_id: string }[];
    return rows.map((r) => r.client_id).sort();
  }

  /** Every target of an upload with its latest outcome; empty when the uuid is unknown. */
  async targets(uuid: string): Promise<StoredTarget[]> {
    const rows = statement(
      this.db,
      'SELECT client_id, status, message, filepath, size, attempt, changed, diff, backup, updated_at FROM upload_results WHERE uuid = ? ORDER BY client_id',
    ).all(uuid) as StoredRow[];
    return rows.map(({ diff, backup, ...r }) => ({
      ...r,
      changed: r.changed === null ? null : r.changed === 1,
      ...(typeof diff === 'string' ? { diff } : {}),
      ...(backup === null ? {} : { backup }),
    }));
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
