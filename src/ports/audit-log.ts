import type { AuditEntry } from '../domain/audit-entry.ts';

export interface AuditLog {
  record(entry: AuditEntry): Promise<void>;
}

/** What the audit-log API may ask of the stored log (filters combine with AND). */
export interface AuditQuery {
  application?: string;
  action?: string;
  username?: string;
  client_id?: string;
  upload_uuid?: string;
  /** Entries at or after. */
  since?: Date;
  /** Entries before. */
  until?: Date;
  limit: number;
  offset: number;
}

export interface StoredAuditEntry extends Omit<AuditEntry, 'timestamp'> {
  id: number;
  /** ISO 8601. */
  timestamp: string;
}

/** Read side of the audit log, for the HTTP API. */
export interface AuditQueries {
  query(q: AuditQuery): Promise<{ entries: StoredAuditEntry[]; total: number }>;
}
