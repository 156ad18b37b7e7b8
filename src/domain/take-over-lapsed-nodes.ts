import type { NodeRouting } from '../ports/cluster-routing.ts';
import type { Clock } from '../ports/clock.ts';
import type { DeliveryQueue, UploadArchive } from '../ports/delivery-queue.ts';
import type { Logger } from '../ports/logger.ts';
import type { LapsedTarget, NodeLiveness } from '../ports/node-liveness.ts';
import { messageOf } from './errors.ts';
import type { OfflineDelivery } from './offline-delivery.ts';
import { failure, type PushOutcome } from './outcome.ts';
import type { ReportResult } from './report-result.ts';

/** Who an outcome is audited under when the store cannot tell who made the upload. */
const UNKNOWN_REQUESTER = 'rportd';

export interface TakenOver {
  /** Pending targets of lapsed nodes this node now finishes. */
  adopted: number;
  /** Clients whose queued targets a lapsed node had claimed. */
  freed: number;
}

/**
 * Server, on a cluster node, each heartbeat: writes this node's heartbeat, then finishes what nodes
 * whose heartbeat lapsed left. Each of their pending targets is queued again, for the push
 * timeout (or the upload's offline_ttl, if longer, or its wait in the queue, if longer still): the
 * node holding its client pushes it, or this node ends it with one final outcome when the time is
 * over. Their claims on queued targets are dropped, and the clients' nodes are told to serve them.
 */
export class TakeOverLapsedNodes {
  constructor(
    private readonly liveness: NodeLiveness,
    private readonly queue: DeliveryQueue,
    private readonly archive: UploadArchive,
    private readonly offline: OfflineDelivery,
    private readonly routing: NodeRouting,
    private readonly report: ReportResult,
    private readonly clock: Clock,
    private readonly logger: Logger,
    /** How long an adopted target waits for its client: the push timeout. */
    private readonly waitMs: number,
  ) {}

  /** One heartbeat; rejects when the heartbeat cannot be written (the database is away). */
  async execute(): Promise<TakenOver> {
    await this.liveness.beat();
    const targets = await this.liveness.adoptLapsed();
    for (const t of targets)
      await this.adopt(t).catch((e: unknown) =>
        this.logger.error(
          { uuid: t.uuid, client_id: t.client_id, node: t.node_id, err: messageOf(e) },
          'taking over a target of a stopped node failed',
        ),
      );
    if (targets.length > 0)
      this.logger.warn(
        { nodes: [...new Set(targets.map((t) => t.node_id))].sort(), targets: targets.length },
        'took over the pending targets of nodes whose heartbeat lapsed',
      );
    const clients = await this.liveness.freeLapsedClaims();
    for (const clientId of clients) await this.serveWhereConnected(clientId);
    return { adopted: targets.length, freed: clients.length };
  }

  private async adopt(t: LapsedTarget): Promise<void> {
    const why = `node ${t.node_id} stopped during the push`;
    const kept = await this.archive.find(t.uuid);
    if (!kept) {
      const outcome: PushOutcome = {
        ...failure(`${why}, and its upload was not kept; the file was not pushed to client ${t.client_id}`),
        client_id: t.client_id,
        uuid: t.uuid,
        filepath: '',
        size: 0,
      };
      await this.report.execute(outcome, t.requested_by || UNKNOWN_REQUESTER);
      await this.offline.settled(t.uuid);
      return;
    }
    const ttlMs = (kept.upload.offlineTtl ?? 0) * 1000;
    const window = new Date(this.clock.now().getTime() + Math.max(this.waitMs, ttlMs));
    const queued = (await this.queue.forClient(t.client_id)).find((q) => q.uuid === t.uuid);
    const until = queued && queued.expires_at > window ? queued.expires_at : window;
    // Not held here: the file is the lapsed node's; this node (or the client's) fetches the shared copy.
    // enqueue serves it at once when the client is connected here, and sets this node's expiry.
    await this.offline.enqueue(t.client_id, kept.upload, until, why, { hold: false });
    await this.wakeOtherNode(t.client_id);
  }

  private async serveWhereConnected(clientId: string): Promise<void> {
    // Not awaited: a push takes up to the push timeout, and the heartbeat must go on meanwhile.
    void this.offline
      .serveHere(clientId)
      .catch((e: unknown) =>
        this.logger.error({ client_id: clientId, err: messageOf(e) }, 'serving queued targets failed'),
      );
    await this.wakeOtherNode(clientId);
  }

  private async wakeOtherNode(clientId: string): Promise<void> {
    const node = await this.routing.otherNodeOf(clientId);
    if (node === undefined) return;
    await this.routing
      .wake(node, clientId)
      .catch((e: unknown) =>
        this.logger.warn(
          { client_id: clientId, node, err: messageOf(e) },
          'telling a node to serve its client failed; it serves the target on its sweep or the next connect',
        ),
      );
  }
}
