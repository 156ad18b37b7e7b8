// A cluster node's heartbeat: every few seconds it writes its row in `nodes`, then takes over the
// pending targets and claims of nodes whose heartbeat lapsed (TakeOverLapsedNodes).
import { SystemClock } from '../../adapters/system/system-clock.ts';
import { HEARTBEAT_MS } from '../../adapters/postgres/postgres-node-liveness.ts';
import { messageOf } from '../../domain/errors.ts';
import type { OfflineDelivery } from '../../domain/offline-delivery.ts';
import type { ReportResult } from '../../domain/report-result.ts';
import { TakeOverLapsedNodes } from '../../domain/take-over-lapsed-nodes.ts';
import type { NodeRouting } from '../../ports/cluster-routing.ts';
import type { Logger } from '../../ports/logger.ts';
import type { ClusterStores } from './cluster-stores.ts';

/** Starts the heartbeat (the first beat at once); returns how to stop it. */
export function startHeartbeat(
  pg: ClusterStores,
  offline: OfflineDelivery,
  routing: NodeRouting,
  report: ReportResult,
  pushTimeoutMs: number,
  logger: Logger,
): () => void {
  const takeOver = new TakeOverLapsedNodes(
    pg.liveness,
    pg.queue,
    pg.archive,
    offline,
    routing,
    report,
    new SystemClock(),
    logger,
    pushTimeoutMs,
  );
  let running = false;
  let failing = false;
  const tick = (): void => {
    // One at a time: a beat that hangs through an outage is not stacked on.
    if (running) return;
    running = true;
    takeOver
      .execute()
      .then(() => {
        if (failing) logger.info({}, 'heartbeat written again');
        failing = false;
      })
      .catch((e: unknown) => {
        // The outage itself is logged by the database's health; this says what it means here.
        if (!failing)
          logger.warn(
            { err: messageOf(e) },
            'heartbeat not written; other nodes take over this node’s pending targets if it stays away',
          );
        failing = true;
      })
      .finally(() => (running = false));
  };
  tick();
  const timer = setInterval(tick, HEARTBEAT_MS);
  timer.unref();
  return () => clearInterval(timer);
}
