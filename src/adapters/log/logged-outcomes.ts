import type { PushOutcome } from '../../domain/outcome.ts';
import type { Logger } from '../../ports/logger.ts';
import type { ResultBroadcaster } from '../../ports/result-broadcaster.ts';

/**
 * Logs each client's final outcome as it is published, then passes it on. ReportResult publishes
 * an outcome once, after it is stored, so each target gets one line. An error is a warning: someone
 * has a file that did not arrive.
 */
export class LoggedOutcomes implements ResultBroadcaster {
  constructor(
    private readonly inner: ResultBroadcaster,
    private readonly logger: Logger,
  ) {}

  publish(outcome: PushOutcome, requestedBy: string): void {
    const fields = outcomeFields(outcome);
    if (outcome.status === 'error') this.logger.warn(fields, `push to ${outcome.client_id} failed`);
    else this.logger.info(fields, `push to ${outcome.client_id}: ${outcome.status}`);
    this.inner.publish(outcome, requestedBy);
  }
}

/** The fields of an outcome line. */
export function outcomeFields(outcome: PushOutcome): Record<string, unknown> {
  return {
    uuid: outcome.uuid,
    client_id: outcome.client_id,
    status: outcome.status,
    dest: outcome.filepath,
    size: outcome.size,
    changed: outcome.changed,
    detail: outcome.message,
  };
}
