import type { ClientChannels } from '../ports/client-channel.ts';
import type { Clock } from '../ports/clock.ts';
import type { UploadArchive } from '../ports/delivery-queue.ts';
import type { Logger } from '../ports/logger.ts';
import type { LiveTransfers } from '../ports/live-transfers.ts';
import type { StagingStore } from '../ports/staging-store.ts';
import type { AcceptedUpload } from './accepted-upload.ts';
import { messageOf } from './errors.ts';
import type { OfflineDelivery } from './offline-delivery.ts';
import { failure } from './outcome.ts';
import { isUnreachable, outcomeOf, PushToClient } from './push-to-client.ts';
import type { ReportProgress } from './report-progress.ts';
import type { ReportResult } from './report-result.ts';
import type { StagedRetention } from './staged-retention.ts';

export interface DispatchSettings {
  /** How many clients fetch at once; bounds the server's memory and open SFTP sessions. */
  concurrency: number;
  /** How long one client may take for one push before it gets an error outcome. */
  timeoutMs: number;
  /** `[server] offline_ttl`, seconds: for pushes that name none. 0 (the default) queues nothing. */
  offlineTtl?: number;
}

/**
 * What pushes after the first round need: the upload kept, its staged file's life, and the queue
 * of offline targets. Without it, dispatch is a single round and the staged file goes at its end.
 */
export interface LaterPushes {
  archive: UploadArchive;
  retention: StagedRetention;
  offline: OfflineDelivery;
}

/**
 * Server: fans an accepted upload out to its target clients with bounded concurrency, times out
 * the silent, reports each client's outcome once, and lets go of the staged file after the last.
 * A target whose client is offline or drops is queued when the upload has an offline_ttl.
 */
export class DispatchToClients {
  private readonly pusher: PushToClient;

  constructor(
    channels: ClientChannels,
    transfers: LiveTransfers,
    private readonly staging: StagingStore,
    private readonly report: ReportResult,
    private readonly clock: Clock,
    private readonly logger: Logger,
    private readonly settings: DispatchSettings,
    private readonly later?: LaterPushes,
    /** Where a client's progress goes while its push is live; none is passed on without it. */
    progress?: ReportProgress,
  ) {
    this.pusher = new PushToClient(channels, transfers, clock, settings.timeoutMs, progress);
  }

  /**
   * Keeps the upload for later pushes before it is answered: on a cluster, a node that dies right
   * after its answer leaves the upload to the others (execute keeps it too; the first save stays).
   */
  async keep(upload: AcceptedUpload): Promise<void> {
    await this.later?.archive.save(this.withTtl(upload));
  }

  /** The first round of a new upload; settles when each target has its outcome or is queued. */
  async execute(upload: AcceptedUpload): Promise<void> {
    const withTtl = this.withTtl(upload);
    this.later?.retention.hold(upload.staged.uuid);
    return this.round(withTtl, withTtl.targets, () => this.later?.archive.save(withTtl));
  }

  private withTtl(upload: AcceptedUpload): AcceptedUpload {
    return { ...upload, offlineTtl: upload.offlineTtl ?? this.settings.offlineTtl ?? 0 };
  }

  /**
   * A later round (a retry) to some targets of a kept upload. The caller holds the staged file
   * (StagedRetention.acquire) and this round lets go of that hold at its end.
   */
  redeliver(upload: AcceptedUpload, targets: string[]): Promise<void> {
    return this.round(upload, targets);
  }

  /** Pushes to each target once; `first` runs before, inside the round (the staged file is let go whatever happens). */
  private async round(
    upload: AcceptedUpload,
    targets: string[],
    first?: () => Promise<void> | undefined,
  ): Promise<void> {
    const queue = [...targets];
    const ttl = this.later ? (upload.offlineTtl ?? 0) : 0;
    const expiresAt = ttl > 0 ? new Date(this.clock.now().getTime() + ttl * 1000) : undefined;
    const worker = async (): Promise<void> => {
      for (let clientId = queue.shift(); clientId !== undefined; clientId = queue.shift()) {
        const verdict = await this.pusher.push(clientId, upload);
        if (isUnreachable(verdict) && this.later && (await this.handedOff(clientId, upload, expiresAt)))
          continue;
        if (isUnreachable(verdict) && expiresAt && this.later) {
          const queued = await this.later.offline.enqueue(clientId, upload, expiresAt, verdict.message).then(
            () => true,
            (e: unknown) => {
              this.logger.error(
                { client_id: clientId, uuid: upload.staged.uuid, err: messageOf(e) },
                'queueing a target failed; it ends with its error',
              );
              return false;
            },
          );
          if (queued) continue;
        }
        const final = isUnreachable(verdict) ? failure(verdict.message) : verdict;
        await this.report
          .execute(outcomeOf(clientId, upload, final), upload.requestedBy)
          .catch((e: unknown) =>
            this.logger.error(
              { client_id: clientId, uuid: upload.staged.uuid, err: messageOf(e) },
              'recording an outcome failed',
            ),
          );
      }
    };
    try {
      await first?.();
      const workers = Math.max(1, Math.min(this.settings.concurrency, queue.length));
      await Promise.all(Array.from({ length: workers }, worker));
    } finally {
      await this.letGo(upload.staged.uuid);
    }
    // After the local file is let go: the shared object's removal may wait on the bus, and this
    // node's file must not wait with it.
    await this.later?.offline.settled(upload.staged.uuid);
  }

  /**
   * On a cluster node, a target whose client is connected to another node goes to that node. A
   * failure to hand it over leaves it to this node's own handling (queued, or its error).
   */
  private async handedOff(clientId: string, upload: AcceptedUpload, expiresAt?: Date): Promise<boolean> {
    if (this.pusher.connected(clientId)) return false;
    return this.later!.offline.handOff(clientId, upload, expiresAt).catch((e: unknown) => {
      this.logger.error(
        { client_id: clientId, uuid: upload.staged.uuid, err: messageOf(e) },
        'handing a target to the node of its client failed',
      );
      return false;
    });
  }

  private async letGo(uuid: string): Promise<void> {
    if (this.later) await this.later.retention.release(uuid);
    else await this.staging.remove(uuid);
  }
}
