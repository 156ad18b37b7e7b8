import type { AuditEntry } from '../domain/audit-entry.ts';

export interface AuditLog {
  record(entry: AuditEntry): Promise<void>;
}
