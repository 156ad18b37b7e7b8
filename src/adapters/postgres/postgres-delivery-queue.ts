import type { DeliveryQueue, QueuedTarget } from '../../ports/delivery-queue.ts';
import { sql, type PgDb } from './postgres-database.ts';
import { lapsedNodes } from './postgres-node-liveness.ts';

interface Row {
  uuid: string;
  client_id: string;
  expires_at: Date;
}

const targetOf = (r: Row): QueuedTarget => ({
  uuid: r.uuid,
  client_id: r.client_id,
  expires_at: new Date(r.expires_at),
});

/**
 * A row no other node holds: never claimed, claimed by this node ($node), its lease over, or its
 * node's heartbeat lapsed (judged only while this node's own heartbeat is steady: $ready, $lapse).
 */
const FREE_FOR = (node: number, ready: number, lapse: number) =>
  `(claimed_by IS NULL OR claimed_by = $${node} OR claimed_until <= now() OR ${lapsedNodes(ready, lapse)})`;

/** Whose heartbeat this queue trusts when judging other nodes' claims. */
export interface ClaimJudge {
  readonly ready: boolean;
  readonly timing: { lapseMs: number };
}

/**
 * The queue of targets waiting for their client, shared by every node. A node that pushes a target
 * claims it first: a lease on the database's clock (so that nodes' clocks need not agree) that no
 * other node can take, nor end, until this node releases it or the lease runs out (the node died).
 */
export class PostgresDeliveryQueue implements DeliveryQueue {
  constructor(
    private readonly db: PgDb,
    readonly nodeId: string,
    /** Without it (one node, or tests of the lease alone) a claim lapses only when its lease ends. */
    private readonly liveness?: ClaimJudge,
  ) {}

  /** The values of FREE_FOR's $ready and $lapse. */
  private judging(): [boolean, number] {
    return [this.liveness?.ready ?? false, this.liveness?.timing.lapseMs ?? 0];
  }

  async enqueue(t: QueuedTarget): Promise<void> {
    // An upsert that keeps the row, so its place in the queue (seq) and any claim on it.
    await sql(
      this.db,
      `INSERT INTO delivery_queue (uuid, client_id, expires_at) VALUES ($1, $2, $3)
         ON CONFLICT (uuid, client_id) DO UPDATE SET expires_at = excluded.expires_at`,
      [t.uuid, t.client_id, t.expires_at],
    );
  }

  /**
   * One DELETE: of nodes removing the same target at once, the first takes its row and the others
   * then find it gone. A target another node holds under a live claim is not this node's to end.
   */
  async remove(uuid: string, clientId: string): Promise<boolean> {
    const r = await sql(
      this.db,
      `DELETE FROM delivery_queue WHERE uuid = $1 AND client_id = $2 AND ${FREE_FOR(3, 4, 5)}`,
      [uuid, clientId, this.nodeId, ...this.judging()],
    );
    return r.rowCount === 1;
  }

  async forClient(clientId: string): Promise<QueuedTarget[]> {
    const { rows } = await sql<Row>(
      this.db,
      'SELECT uuid, client_id, expires_at FROM delivery_queue WHERE client_id = $1 ORDER BY seq',
      [clientId],
    );
    return rows.map(targetOf);
  }

  async all(): Promise<QueuedTarget[]> {
    const { rows } = await sql<Row>(
      this.db,
      'SELECT uuid, client_id, expires_at FROM delivery_queue ORDER BY seq',
    );
    return rows.map(targetOf);
  }

  /**
   * Claims, for `leaseMs`, the targets of one client that no other node holds, oldest first; claiming
   * again renews this node's own. Rows another node is claiming at this moment are skipped, not
   * waited for (SKIP LOCKED): two nodes claiming at once share the targets out, none twice.
   */
  async claim(clientId: string, leaseMs: number): Promise<QueuedTarget[]> {
    const { rows } = await sql<Row & { seq: string }>(
      this.db,
      `UPDATE delivery_queue q SET claimed_by = $2, claimed_until = now() + $3 * interval '1 millisecond'
         FROM (SELECT uuid, client_id FROM delivery_queue WHERE client_id = $1 AND ${FREE_FOR(2, 4, 5)}
                 ORDER BY seq FOR UPDATE SKIP LOCKED) free
         WHERE q.uuid = free.uuid AND q.client_id = free.client_id
         RETURNING q.uuid, q.client_id, q.expires_at, q.seq`,
      [clientId, this.nodeId, leaseMs, ...this.judging()],
    );
    return rows.sort((a, b) => Number(a.seq) - Number(b.seq)).map(targetOf);
  }

  /** Gives back this node's claim on a target that stays queued (its client dropped again). */
  async release(uuid: string, clientId: string): Promise<boolean> {
    const r = await sql(
      this.db,
      `UPDATE delivery_queue SET claimed_by = NULL, claimed_until = NULL
         WHERE uuid = $1 AND client_id = $2 AND claimed_by = $3`,
      [uuid, clientId, this.nodeId],
    );
    return r.rowCount === 1;
  }
}
