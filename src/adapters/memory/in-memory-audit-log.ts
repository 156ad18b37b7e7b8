import type { AuditEntry } from '../../domain/audit-entry.ts';
import type { AuditLog } from '../../ports/audit-log.ts';

/** Audit entries in an array, in the order they were written. */
export class InMemoryAuditLog implements AuditLog {
  readonly entries: AuditEntry[] = [];

  async record(entry: AuditEntry): Promise<void> {
    this.entries.push(structuredClone(entry));
  }
}
