import type { AuditEntry } from '../../domain/audit-entry.ts';
import type { AuditLog, AuditQueries, AuditQuery, StoredAuditEntry } from '../../ports/audit-log.ts';
import { statement, type SqliteDb } from './sqlite-database.ts';

interface Row {
  id: number;
  timestamp: string;
  application: AuditEntry['application'];
  action: string;
  username: string;
  client_id: string | null;
  upload_uuid: string | null;
  request: string;
}

const SECRET_KEY = /pass|token|secret|authori|cookie/i;

/** Defence in depth: a secret-looking field never reaches the table, whoever wrote the entry. */
function scrub(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(scrub);
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value).map(([k, v]) => [k, SECRET_KEY.test(k) ? '[redacted]' : scrub(v)]),
    );
  }
  return value;
}

/** The audit log, newest first when queried. */
export class SqliteAuditLog implements AuditLog, AuditQueries {
  constructor(private readonly db: SqliteDb) {}

  async record(e: AuditEntry): Promise<void> {
    statement(
      this.db,
      'INSERT INTO audit_log (timestamp, application, action, username, client_id, upload_uuid, request) VALUES (?, ?, ?, ?, ?, ?, ?)',
    ).run(
      e.timestamp.toISOString(),
      e.application,
      e.action,
      e.username,
      e.client_id ?? null,
      e.upload_uuid ?? null,
      JSON.stringify(scrub(e.request)),
    );
  }

  async query(q: AuditQuery): Promise<{ entries: StoredAuditEntry[]; total: number }> {
    const where: string[] = [];
    const args: Record<string, string | number> = {};
    for (const key of ['application', 'action', 'username', 'client_id', 'upload_uuid'] as const) {
      const v = q[key];
      if (v !== undefined) {
        where.push(`${key} = @${key}`);
        args[key] = v;
      }
    }
    if (q.since) {
      where.push('timestamp >= @since');
      args.since = q.since.toISOString();
    }
    if (q.until) {
      where.push('timestamp < @until');
      args.until = q.until.toISOString();
    }
    const clause = where.length ? `WHERE ${where.join(' AND ')}` : '';
    const total = (
      this.db.prepare(`SELECT COUNT(*) AS n FROM audit_log ${clause}`).get(args) as { n: number }
    ).n;
    const rows = this.db
      .prepare(
        `SELECT * FROM audit_log ${clause} ORDER BY timestamp DESC, id DESC LIMIT @limit OFFSET @offset`,
      )
      .all({ ...args, limit: q.limit, offset: q.offset }) as Row[];
    return {
      total,
      entries: rows.map((r) => ({
        id: r.id,
        timestamp: r.timestamp,
        application: r.application,
        action: r.action,
        username: r.username,
        ...(r.client_id !== null ? { client_id: r.client_id } : {}),
        ...(r.upload_uuid !== null ? { upload_uuid: r.upload_uuid } : {}),
        request: JSON.parse(r.request) as Record<string, unknown>,
      })),
    };
  }
}
