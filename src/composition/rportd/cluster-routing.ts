// A cluster node's routing, with `[cluster] nats_url` and database_url: uploads are staged here and
// published to the shared bucket in one pass; a target whose client is on another node is queued for
// it and that node is woken over NATS; this node serves the wake-ups it gets, and sweeps its
// connected clients' queued targets now and then, for wake-ups lost in an outage.
import { createReadStream } from 'node:fs';
import { join } from 'node:path';
import type { Subscription } from '@nats-io/transport-node';
import type { ServerConfig } from '../../adapters/config/server-config.ts';
import { FsStagingStore } from '../../adapters/fs/fs-staging-store.ts';
import type { NatsLink } from '../../adapters/nats/nats-link.ts';
import { NatsNodeRouting } from '../../adapters/nats/nats-node-routing.ts';
import { NatsStagedFiles } from '../../adapters/nats/nats-staged-files.ts';
import { PublishingStagingStore } from '../../adapters/nats/publishing-staging-store.ts';
import { PostgresOpenTargets } from '../../adapters/postgres/postgres-open-targets.ts';
import { messageOf } from '../../domain/errors.ts';
import type { ClusterDelivery, OfflineDelivery } from '../../domain/offline-delivery.ts';
import type { ReportResult } from '../../domain/report-result.ts';
import { SharedCopies } from '../../domain/shared-copies.ts';
import type { Logger } from '../../ports/logger.ts';
import type { StagingStore } from '../../ports/staging-store.ts';
import { startHeartbeat } from './cluster-heartbeat.ts';
import type { ClusterStores } from './cluster-stores.ts';

/** How often a node serves its connected clients' queued targets without being told to. */
const SWEEP_MS = 30_000;

export interface ClusterRouting {
  /** For OfflineDelivery: the routing port and the local copies of other nodes' uploads. */
  delivery: ClusterDelivery;
  /** The use cases' staging store: stages locally and publishes in one pass. */
  staging: StagingStore;
  /**
   * Serves wake-ups and sweeps, once offline delivery is built; `serve` is how many at once. Starts
   * the heartbeat, which also takes over what nodes whose heartbeat lapsed left (`report` ends those
   * it cannot push).
   */
  start(offline: OfflineDelivery, serve: number, report: ReportResult): void;
  close(): void;
}

export function clusterRouting(
  config: ServerConfig,
  link: NatsLink,
  pg: ClusterStores,
  logger: Logger,
): ClusterRouting {
  const local = new FsStagingStore(join(config.server.data_dir, 'filepush'));
  const shared = new NatsStagedFiles(link, local.dir);
  const open = new PostgresOpenTargets(pg.db);
  const routing = new NatsNodeRouting(link.connection, config.cluster.node_id, (id) =>
    pg.registry.nodeOf(id),
  );
  let subscription: Subscription | undefined;
  let sweeper: NodeJS.Timeout | undefined;
  let stopHeartbeat: (() => void) | undefined;
  return {
    delivery: { routing, copies: new SharedCopies(shared, local, open, logger) },
    staging: new PublishingStagingStore(
      local,
      shared,
      (uuid) => createReadStream(local.pathOf(uuid)),
      (uuid) => open.anyOpen(uuid),
    ),
    start(offline, serve, report) {
      const wakeUps = new ServeQueue(offline, Math.max(1, serve), logger);
      subscription = routing.listen(
        (clientId) => wakeUps.add(clientId),
        (error) => logger.warn({ error }, 'ignored a malformed wake-up from another node'),
      );
      let sweeping = false;
      sweeper = setInterval(() => {
        if (sweeping) return;
        sweeping = true;
        offline
          .sweep()
          .then((ended) => {
            if (ended > 0) logger.info({ targets: ended }, 'served queued targets on the sweep');
          })
          .catch((e: unknown) => logger.error({ err: messageOf(e) }, 'sweeping queued targets failed'))
          .finally(() => (sweeping = false));
      }, SWEEP_MS);
      sweeper.unref();
      stopHeartbeat = startHeartbeat(pg, offline, routing, report, config.server.push_timeout * 1000, logger);
    },
    close() {
      stopHeartbeat?.();
      clearInterval(sweeper);
      subscription?.unsubscribe();
    },
  };
}

/** Clients to serve on wake-ups, each once at a time, at most `limit` at once (like push_concurrency). */
class ServeQueue {
  private readonly waiting = new Set<string>();
  private readonly serving = new Set<string>();

  constructor(
    private readonly offline: OfflineDelivery,
    private readonly limit: number,
    private readonly logger: Logger,
  ) {}

  add(clientId: string): void {
    this.waiting.add(clientId);
    this.pump();
  }

  private pump(): void {
    for (const clientId of this.waiting) {
      if (this.serving.size >= this.limit) return;
      // Served now: the wake-up waits, and the next round picks up what came meanwhile.
      if (this.serving.has(clientId)) continue;
      this.waiting.delete(clientId);
      this.serving.add(clientId);
      this.offline
        .serveHere(clientId)
        .then((ended) => {
          if (ended > 0)
            this.logger.info({ client_id: clientId, targets: ended }, 'served targets routed here');
        })
        .catch((e: unknown) =>
          this.logger.error({ client_id: clientId, err: messageOf(e) }, 'serving routed targets failed'),
        )
        .finally(() => {
          this.serving.delete(clientId);
          this.pump();
        });
    }
  }
}
