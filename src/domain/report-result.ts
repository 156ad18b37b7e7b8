import type { AuditLog } from '../ports/audit-log.ts';
import type { Clock } from '../ports/clock.ts';
import type { ResultBroadcaster } from '../ports/result-broadcaster.ts';
import type { ResultStore } from '../ports/result-store.ts';
import type { PushOutcome } from './outcome.ts';

/** Server: records a client's outcome once, broadcasts it to live listeners, and writes it to the audit log. */
export class ReportResult {
  constructor(
    private readonly results: ResultStore,
    private readonly broadcaster: ResultBroadcaster,
    private readonly audit: AuditLog,
    private readonly clock: Clock,
  ) {}

  async execute(outcome: PushOutcome, requestedBy: string): Promise<void> {
    const first = await this.results.record(outcome);
    if (!first) return;
    this.broadcaster.publish(outcome, requestedBy);
    await this.audit.record({
      timestamp: this.clock.now(),
      application: 'uploads',
      action: outcome.status,
      username: requestedBy,
      client_id: outcome.client_id,
      upload_uuid: outcome.uuid,
      request: {
        filepath: outcome.filepath,
        size: outcome.size,
        message: outcome.message,
        changed: outcome.changed,
        ...(outcome.backup === undefined ? {} : { backup: outcome.backup }),
      },
    });
  }
}
