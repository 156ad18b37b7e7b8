import { AcceptUpload } from '../../../src/domain/accept-upload.ts';
import { DispatchToClients, type DispatchSettings } from '../../../src/domain/dispatch-to-clients.ts';
import { EndStrandedPushes } from '../../../src/domain/end-stranded-pushes.ts';
import { OfflineDelivery } from '../../../src/domain/offline-delivery.ts';
import { success, type PushVerdict } from '../../../src/domain/outcome.ts';
import { PushToClient } from '../../../src/domain/push-to-client.ts';
import { ReportResult } from '../../../src/domain/report-result.ts';
import { RetryPush } from '../../../src/domain/retry-push.ts';
import { ServeOnConnect } from '../../../src/domain/serve-on-connect.ts';
import { StagedRetention } from '../../../src/domain/staged-retention.ts';
import type { ClientChannel } from '../../../src/ports/client-channel.ts';
import { InMemoryAuditLog } from '../../../src/adapters/memory/in-memory-audit-log.ts';
import { InMemoryClientChannels } from '../../../src/adapters/memory/in-memory-client-channels.ts';
import { InMemoryClientGroupStore } from '../../../src/adapters/memory/in-memory-client-group-store.ts';
import { InMemoryClientRegistry } from '../../../src/adapters/memory/in-memory-client-registry.ts';
import { InMemoryDeliveryQueue } from '../../../src/adapters/memory/in-memory-delivery-queue.ts';
import { InMemoryLiveTransfers } from '../../../src/adapters/memory/in-memory-live-transfers.ts';
import { InMemoryResultBroadcaster } from '../../../src/adapters/memory/in-memory-result-broadcaster.ts';
import { InMemoryResultStore } from '../../../src/adapters/memory/in-memory-result-store.ts';
import { InMemoryStagingStore } from '../../../src/adapters/memory/in-memory-staging-store.ts';
import { InMemoryUploadArchive } from '../../../src/adapters/memory/in-memory-upload-archive.ts';
import { ManualClock } from '../../../src/adapters/memory/manual-clock.ts';
import { MemoryLogger } from '../../../src/adapters/memory/memory-logger.ts';
import { SequentialIdGenerator } from '../../../src/adapters/memory/sequential-id-generator.ts';
import { client } from './server-fixture.ts';

export const PLACED = success('file successfully copied to destination');

/** What survives a restart of rportd: the database's stores and the staged files. */
export interface Persisted {
  clock: ManualClock;
  staging: InMemoryStagingStore;
  results: InMemoryResultStore;
  audit: InMemoryAuditLog;
  queue: InMemoryDeliveryQueue;
  archive: InMemoryUploadArchive;
  registry: InMemoryClientRegistry;
}

export function persisted(): Persisted {
  return {
    clock: new ManualClock(),
    staging: new InMemoryStagingStore(),
    results: new InMemoryResultStore(),
    audit: new InMemoryAuditLog(),
    queue: new InMemoryDeliveryQueue(),
    archive: new InMemoryUploadArchive(),
    registry: new InMemoryClientRegistry(['c1', 'c2', 'c3'].map((id) => client(id))),
  };
}

/** One run of rportd over in-memory stores: the whole offline-delivery and retry graph, as rportd wires it. */
export function makeOfflineServer(
  opts: { keepMs?: number; dispatch?: Partial<DispatchSettings>; stores?: Persisted } = {},
) {
  const p = opts.stores ?? persisted();
  const { clock, staging, results, audit, queue, archive, registry } = p;
  const broadcaster = new InMemoryResultBroadcaster();
  const channels = new InMemoryClientChannels();
  const transfers = new InMemoryLiveTransfers();
  const logger = new MemoryLogger();
  const settings: DispatchSettings = { concurrency: 4, timeoutMs: 30_000, ...opts.dispatch };
  const report = new ReportResult(results, broadcaster, audit, clock);
  const retention = new StagedRetention(staging, archive, clock, logger, opts.keepMs ?? 0);
  const pusher = new PushToClient(channels, transfers, clock, settings.timeoutMs);
  const offline = new OfflineDelivery(queue, archive, results, report, retention, pusher, clock, logger);
  const dispatch = new DispatchToClients(channels, transfers, staging, report, clock, logger, settings, {
    archive,
    retention,
    offline,
  });
  const accept = new AcceptUpload(
    staging,
    registry,
    new InMemoryClientGroupStore([]),
    results,
    audit,
    dispatch,
    new SequentialIdGenerator(11),
    clock,
    1024,
  );
  const retry = new RetryPush(archive, results, retention, dispatch, audit, clock);
  const presence = new ServeOnConnect(registry, offline, clock, logger);
  const endStranded = new EndStrandedPushes(results, staging, report, { queue, archive });
  return {
    ...p,
    broadcaster,
    channels,
    transfers,
    logger,
    report,
    retention,
    offline,
    dispatch,
    accept,
    retry,
    presence,
    endStranded,
    /** A client connects: its channel is up and it announces itself (which serves its queue). */
    async connect(id: string, channel: ClientChannel): Promise<void> {
      channels.connect(id, channel);
      await presence.announce(client(id));
    },
    /** Drives virtual time until no target of uuid is queued any more. */
    async drained(uuid: string): Promise<void> {
      const waiting = async () => (await queue.all()).some((t) => t.uuid === uuid);
      await clock.run(
        (async () => {
          while (await waiting()) await clock.sleep(100);
        })(),
      );
    },
    close(): void {
      offline.close();
      retention.close();
    },
  };
}

/** A channel whose pushes are answered by `answer`, counting them. */
export function scripted(answer: () => Promise<PushVerdict>): ClientChannel & { pushes: number } {
  const ch = {
    pushes: 0,
    push: async (): Promise<PushVerdict> => {
      ch.pushes += 1;
      return answer();
    },
  };
  return ch;
}

/**
 * A channel whose connection drops during its first push (`lose` takes it off the connected
 * channels, and the push rejects, as a lost connection does), then places the file.
 */
export function dropsOnce(lose: () => void): ClientChannel & { pushes: number } {
  const ch = scripted(async () => {
    if (ch.pushes === 1) {
      lose();
      throw new Error('ECONNRESET: the connection dropped during the transfer');
    }
    return PLACED;
  });
  return ch;
}
