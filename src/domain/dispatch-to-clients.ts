import type { ClientChannels } from '../ports/client-channel.ts';
import type { Clock } from '../ports/clock.ts';
import type { Logger } from '../ports/logger.ts';
import type { LiveTransfers } from '../ports/live-transfers.ts';
import type { StagingStore } from '../ports/staging-store.ts';
import { pushRequestOf, type AcceptedUpload } from './accepted-upload.ts';
import { messageOf } from './errors.ts';
import { changedOf, failure, type PushOutcome, type PushVerdict } from './outcome.ts';
import type { ReportResult } from './report-result.ts';

export interface DispatchSettings {
  /** How many clients fetch at once; bounds the server's memory and open SFTP sessions. */
  concurrency: number;
  /** How long one client may take for one push before it gets an error outcome. */
  timeoutMs: number;
}

const TIMED_OUT: unique symbol = Symbol('timed out');
/**
 * Why a push's signal is aborted once it is over (its timer and transfer are let go). One shared
 * reason: abort() without one builds a DOMException with a stack trace per push (rportd's profile of a
 * fan-out to 1000 showed them).
 */
const PUSH_OVER = new Error('the push is over');

/**
 * Server: fans an accepted upload out to its target clients with bounded concurrency, times out
 * the silent, reports each client's outcome once, and removes the staged file after the last.
 */
export class DispatchToClients {
  constructor(
    private readonly channels: ClientChannels,
    private readonly transfers: LiveTransfers,
    private readonly staging: StagingStore,
    private readonly report: ReportResult,
    private readonly clock: Clock,
    private readonly logger: Logger,
    private readonly settings: DispatchSettings,
  ) {}

  async execute(upload: AcceptedUpload): Promise<void> {
    const queue = [...upload.targets];
    const worker = async (): Promise<void> => {
      for (let clientId = queue.shift(); clientId !== undefined; clientId = queue.shift()) {
        const verdict = await this.pushTo(clientId, upload);
        await this.report
          .execute(outcomeOf(clientId, upload, verdict), upload.requestedBy)
          .catch((e: unknown) =>
            this.logger.error(
              { client_id: clientId, uuid: upload.staged.uuid, err: messageOf(e) },
              'recording an outcome failed',
            ),
          );
      }
    };
    try {
      const workers = Math.max(1, Math.min(this.settings.concurrency, queue.length));
      await Promise.all(Array.from({ length: workers }, worker));
    } finally {
      await this.staging.remove(upload.staged.uuid);
    }
  }

  private async pushTo(clientId: string, upload: AcceptedUpload): Promise<PushVerdict> {
    const channel = this.channels.channelFor(clientId);
    if (!channel) return failure(`client ${clientId} is not connected`);
    const request = pushRequestOf(upload);
    const abort = new AbortController();
    this.transfers.grant(clientId, request.sourceName);
    try {
      const timeout: Promise<typeof TIMED_OUT> = this.clock.sleep(this.settings.timeoutMs, abort.signal).then(
        () => TIMED_OUT,
        () => TIMED_OUT,
      );
      const verdict = await Promise.race([channel.push(request, abort.signal), timeout]);
      if (verdict === TIMED_OUT) {
        return failure(
          `client ${clientId} did not answer within ${spoken(this.settings.timeoutMs)}; the push was abandoned`,
        );
      }
      return verdict;
    } catch (e) {
      return failure(`client ${clientId} was lost during the push: ${messageOf(e)}`);
    } finally {
      abort.abort(PUSH_OVER);
      this.transfers.revoke(clientId, request.sourceName);
    }
  }
}

function outcomeOf(clientId: string, upload: AcceptedUpload, v: PushVerdict): PushOutcome {
  const placed = v.status === 'success';
  return {
    client_id: clientId,
    uuid: upload.staged.uuid,
    filepath: placed ? upload.destination : '',
    size: placed ? upload.staged.size : 0,
    message: v.message,
    status: v.status,
    changed: changedOf(v.status, v.changed),
    ...(v.backup === undefined ? {} : { backup: v.backup }),
  };
}

/** A timeout as a sysadmin reads it: whole seconds from 1 s up, milliseconds below (never "0 s"). */
function spoken(ms: number): string {
  return ms >= 1000 ? `${Math.round(ms / 1000)} s` : `${ms} ms`;
}
