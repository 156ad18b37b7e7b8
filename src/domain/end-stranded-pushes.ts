import type { PendingTargets } from '../ports/result-store.ts';
import type { StagingStore } from '../ports/staging-store.ts';
import { failure, type PushOutcome } from './outcome.ts';
import type { ReportResult } from './report-result.ts';

export const RESTARTED_MESSAGE = 'rportd restarted during the push; the file was not confirmed';

/** Who the outcome is audited under when the store cannot tell who made the upload. */
const UNKNOWN_REQUESTER = 'rportd';

interface EndedPushes {
  uploads: string[];
  targets: number;
}

/**
 * Server, at start: a push in flight when the previous run stopped can never be confirmed (its
 * transfer died with that run), so each target left pending ends with an error, through
 * ReportResult like any other outcome (stored, broadcast, audited), and the upload's staged file
 * goes. Run it before the API and the agents' side open: after that, pending targets are live.
 */
export class EndStrandedPushes {
  constructor(
    private readonly pending: PendingTargets,
    private readonly staging: StagingStore,
    private readonly report: ReportResult,
  ) {}

  async execute(): Promise<EndedPushes> {
    const stranded = await this.pending.pendingTargets();
    const uploads = [...new Set(stranded.map((t) => t.uuid))];
    // Staged files first: a crash in between leaves targets pending, and the next start ends them.
    for (const uuid of uploads) await this.staging.remove(uuid);
    for (const t of stranded) {
      const outcome: PushOutcome = {
        ...failure(RESTARTED_MESSAGE),
        client_id: t.client_id,
        uuid: t.uuid,
        filepath: '',
        size: 0,
      };
      await this.report.execute(outcome, t.requested_by || UNKNOWN_REQUESTER);
    }
    return { uploads, targets: stranded.length };
  }
}
