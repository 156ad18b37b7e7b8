// The server's three use cases, wired once for every program that runs them: rportd over SQLite
// and the SSH listener, the simulation over in-memory fakes. Each program's token table holds
// these tokens, bound to its own stores.
import { ContainerModule } from 'inversify';
import { AcceptUpload } from '../../domain/accept-upload.ts';
import { DispatchToClients, type DispatchSettings } from '../../domain/dispatch-to-clients.ts';
import { OfflineDelivery, type ClusterDelivery } from '../../domain/offline-delivery.ts';
import { PushToClient } from '../../domain/push-to-client.ts';
import { ReportProgress } from '../../domain/report-progress.ts';
import { ReportResult } from '../../domain/report-result.ts';
import { RetryPush } from '../../domain/retry-push.ts';
import { StagedRetention } from '../../domain/staged-retention.ts';
import type { DeliveryQueue, UploadArchive } from '../../ports/delivery-queue.ts';
import type { FieldRules } from '../../domain/upload-fields.ts';
import type { AuditLog } from '../../ports/audit-log.ts';
import type { ClientChannels } from '../../ports/client-channel.ts';
import type { ClientGroupStore } from '../../ports/client-group-store.ts';
import type { ClientRegistry } from '../../ports/client-registry.ts';
import type { Clock } from '../../ports/clock.ts';
import type { IdGenerator } from '../../ports/id-generator.ts';
import type { LiveTransfers } from '../../ports/live-transfers.ts';
import type { Logger } from '../../ports/logger.ts';
import type { ProgressBroadcaster } from '../../ports/progress-broadcaster.ts';
import type { ResultBroadcaster } from '../../ports/result-broadcaster.ts';
import type { ResultStore } from '../../ports/result-store.ts';
import type { StagingStore } from '../../ports/staging-store.ts';
import { provide, type Token } from './typed-wiring.ts';

/** What the use cases are made of (bound by the program) and the use cases (bound here). */
interface UseCaseTokens {
  staging: Token<StagingStore>;
  registry: Token<ClientRegistry>;
  groups: Token<ClientGroupStore>;
  results: Token<ResultStore>;
  broadcaster: Token<ResultBroadcaster>;
  /** Listeners of live transfer progress. */
  progress: Token<ProgressBroadcaster>;
  audit: Token<AuditLog>;
  channels: Token<ClientChannels>;
  transfers: Token<LiveTransfers>;
  clock: Token<Clock>;
  ids: Token<IdGenerator>;
  logger: Token<Logger>;
  dispatchSettings: Token<DispatchSettings>;
  /** The largest upload accepted, in bytes. */
  maxUploadBytes: Token<number>;
  /** The queue of offline targets and the uploads kept for later pushes. */
  queue: Token<DeliveryQueue>;
  archive: Token<UploadArchive>;
  /** `[server] keep_staged_for`, in milliseconds. */
  keepStagedMs: Token<number>;
  /** rportd.conf's rules for field values ([server] allow_special_bits). */
  fieldRules: Token<FieldRules>;
  report: Token<ReportResult>;
  retention: Token<StagedRetention>;
  offline: Token<OfflineDelivery>;
  dispatch: Token<DispatchToClients>;
  accept: Token<AcceptUpload>;
  retry: Token<RetryPush>;
}

/**
 * Binds report, dispatch and accept over the program's bindings of the other tokens; with `cluster`
 * (a cluster node) offline delivery also routes targets to the nodes holding their clients.
 */
export function useCaseModule(t: UseCaseTokens, cluster?: ClusterDelivery): ContainerModule {
  return new ContainerModule(({ bind }) => {
    provide(
      bind,
      t.report,
      [t.results, t.broadcaster, t.audit, t.clock],
      (results, broadcaster, audit, clock) => new ReportResult(results, broadcaster, audit, clock),
    );
    provide(
      bind,
      t.retention,
      [t.staging, t.archive, t.clock, t.logger, t.keepStagedMs],
      (staging, archive, clock, logger, keepMs) =>
        new StagedRetention(staging, archive, clock, logger, keepMs),
    );
    provide(
      bind,
      t.offline,
      [
        t.queue,
        t.archive,
        t.results,
        t.report,
        t.retention,
        t.channels,
        t.transfers,
        t.clock,
        t.logger,
        t.dispatchSettings,
        t.progress,
      ],
      (queue, archive, results, report, retention, channels, transfers, clock, logger, settings, progress) =>
        new OfflineDelivery(
          queue,
          archive,
          results,
          report,
          retention,
          new PushToClient(
            channels,
            transfers,
            clock,
            settings.timeoutMs,
            new ReportProgress(progress, clock),
          ),
          clock,
          logger,
          cluster,
        ),
    );
    provide(
      bind,
      t.dispatch,
      [
        t.channels,
        t.transfers,
        t.staging,
        t.report,
        t.clock,
        t.logger,
        t.dispatchSettings,
        t.archive,
        t.retention,
        t.offline,
        t.progress,
      ],
      (
        channels,
        transfers,
        staging,
        report,
        clock,
        logger,
        settings,
        archive,
        retention,
        offline,
        progress,
      ) =>
        new DispatchToClients(
          channels,
          transfers,
          staging,
          report,
          clock,
          logger,
          settings,
          { archive, retention, offline },
          new ReportProgress(progress, clock),
        ),
    );
    provide(
      bind,
      t.retry,
      [t.archive, t.results, t.retention, t.dispatch, t.audit, t.clock],
      (archive, results, retention, dispatch, audit, clock) =>
        new RetryPush(archive, results, retention, dispatch, audit, clock),
    );
    provide(
      bind,
      t.accept,
      [
        t.staging,
        t.registry,
        t.groups,
        t.results,
        t.audit,
        t.dispatch,
        t.ids,
        t.clock,
        t.maxUploadBytes,
        t.fieldRules,
      ],
      (staging, registry, groups, results, audit, dispatch, ids, clock, maxBytes, rules) =>
        new AcceptUpload(staging, registry, groups, results, audit, dispatch, ids, clock, maxBytes, rules),
    );
  });
}
