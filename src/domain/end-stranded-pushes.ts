import type { DeliveryQueue, UploadArchive } from '../ports/delivery-queue.ts';
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

/** The queue of offline targets, and the uploads kept for them: queued targets are not stranded. */
interface Queued {
  queue: DeliveryQueue;
  archive: UploadArchive;
}

const keyOf = (t: { uuid: string; client_id: string }): string => `${t.uuid}\n${t.client_id}`;

/**
 * Server, at start: a push in flight when the previous run stopped can never be confirmed (its
 * transfer died with that run), so each target left pending ends with an error, through
 * ReportResult like any other outcome (stored, broadcast, audited), and the upload's staged file
 * goes. A target waiting in the offline queue is not in flight: it stays, and so does the staged
 * file it needs. Run it before the API and the agents' side open: after that, pending targets are live.
 */
export class EndStrandedPushes {
  constructor(
    private readonly pending: PendingTargets,
    private readonly staging: StagingStore,
    private readonly report: ReportResult,
    private readonly queued?: Queued,
  ) {}

  async execute(): Promise<EndedPushes> {
    const waiting = (await this.queued?.queue.all()) ?? [];
    const waitingKeys = new Set(waiting.map(keyOf));
    const stillNeeded = new Set(waiting.map((t) => t.uuid));
    const stranded = (await this.pending.pendingTargets()).filter((t) => !waitingKeys.has(keyOf(t)));
    const uploads = [...new Set(stranded.map((t) => t.uuid))];
    // Staged files first: a crash in between leaves targets pending, and the next start ends them.
    for (const uuid of uploads) {
      if (stillNeeded.has(uuid)) continue;
      await this.staging.remove(uuid);
      await this.queued?.archive.stagedRemoved(uuid);
    }
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
