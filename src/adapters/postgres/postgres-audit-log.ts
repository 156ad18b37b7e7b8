import type { AuditEntry } from '../../domain/audit-entry.ts';
import type { AuditLog, AuditQueries, AuditQuery, StoredAuditEntry } from '../../ports/audit-log.ts';
import { iso, json, sql, type PgDb } from './postgres-database.ts';

interface Row {
  id: string;
  timestamp: Date;
  application: AuditEntry['application'];
  action: string;
  username: string;
  client_id: string | null;
  upload_uuid: string | null;
  request: Record<string, unknown>;
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

/**
 * Every filter is a bound parameter, NULL meaning "any", so the statement text is fixed whatever
 * the query asks.
 */
const SELECTED = `FROM audit_log
  WHERE ($1::text IS NULL OR application = $1) AND ($2::text IS NULL OR action = $2)
    AND ($3::text IS NULL OR username = $3) AND ($4::text IS NULL OR client_id = $4)
    AND ($5::text IS NULL OR upload_uuid = $5)
    AND ($6::timestamptz IS NULL OR timestamp >= $6) AND ($7::timestamptz IS NULL OR timestamp < $7)`;

/** The audit log of every node in one table, newest first when queried. */
export class PostgresAuditLog implements AuditLog, AuditQueries {
  constructor(private readonly db: PgDb) {}

  async record(e: AuditEntry): Promise<void> {
    await sql(
      this.db,
      `INSERT INTO audit_log (timestamp, application, action, username, client_id, upload_uuid, request)
         VALUES ($1, $2, $3, $4, $5, $6, $7::json)`,
      [
        e.timestamp,
        e.application,
        e.action,
        e.username,
        e.client_id ?? null,
        e.upload_uuid ?? null,
        json(scrub(e.request)),
      ],
    );
  }

  async query(q: AuditQuery): Promise<{ entries: StoredAuditEntry[]; total: number }> {
    const args = [
      q.application ?? null,
      q.action ?? null,
      q.username ?? null,
      q.client_id ?? null,
      q.upload_uuid ?? null,
      q.since ?? null,
      q.until ?? null,
    ];
    const { rows: counted } = await sql<{ n: number }>(
      this.db,
      `SELECT COUNT(*)::integer AS n ${SELECTED}`,
      args,
    );
    const { rows } = await sql<Row>(
      this.db,
      `SELECT * ${SELECTED} ORDER BY timestamp DESC, id DESC LIMIT $8 OFFSET $9`,
      [...args, q.limit, q.offset],
    );
    return {
      total: counted[0].n,
      entries: rows.map((r) => ({
        id: Number(r.id),
        timestamp: iso(r.timestamp),
        application: r.application,
        action: r.action,
        username: r.username,
        ...(r.client_id !== null ? { client_id: r.client_id } : {}),
        ...(r.upload_uuid !== null ? { upload_uuid: r.upload_uuid } : {}),
        request: r.request,
      })),
    };
  }
}
