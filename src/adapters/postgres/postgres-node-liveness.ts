import type { LapsedTarget, NodeLiveness } from '../../ports/node-liveness.ts';
import { sql, type PgDb } from './postgres-database.ts';

/** How often a cluster node writes its heartbeat. */
export const HEARTBEAT_MS = 3_000;
/** A heartbeat older than this (more than three missed) means the node stopped. */
export const LAPSE_MS = 10_000;

export interface LivenessTiming {
  heartbeatMs: number;
  lapseMs: number;
  /** A monotonic clock in milliseconds (performance.now by default). */
  now?: () => number;
}

/**
 * The nodes whose heartbeat is older than `$lapse` ms on the database's clock: SQL for a subquery,
 * with the parameter numbers of the lapse bound and of whether this node may judge at all.
 */
export function lapsedNodes(ready: number, lapse: number): string {
  return `($${ready}::boolean AND claimed_by IN
    (SELECT node_id FROM nodes WHERE heartbeat_at < now() - $${lapse}::bigint * interval '1 millisecond'))`;
}

interface AdoptedRow {
  uuid: string;
  client_id: string;
  requested_by: string;
  was: string;
}

/**
 * Each node's heartbeat in the `nodes` table, on the database's clock. A node judges others lapsed
 * only once it has itself beaten without a gap for longer than the bound: after an outage of the
 * database every heartbeat is old, and the node that comes back first must not take over the
 * targets of nodes that are alive but have not written theirs yet.
 */
export class PostgresNodeLiveness implements NodeLiveness {
  private beatingSince: number | undefined;
  private lastBeat: number | undefined;
  private readonly now: () => number;

  constructor(
    private readonly db: PgDb,
    readonly nodeId: string,
    readonly timing: LivenessTiming = { heartbeatMs: HEARTBEAT_MS, lapseMs: LAPSE_MS },
  ) {
    this.now = timing.now ?? (() => performance.now());
  }

  /** Whether this node has beaten long enough, without a gap, to tell a lapsed node from a slow one. */
  get ready(): boolean {
    if (this.beatingSince === undefined || this.lastBeat === undefined) return false;
    const t = this.now();
    return (
      t - this.lastBeat <= 2 * this.timing.heartbeatMs &&
      t - this.beatingSince >= this.timing.lapseMs + this.timing.heartbeatMs
    );
  }

  async beat(): Promise<void> {
    try {
      await sql(
        this.db,
        `INSERT INTO nodes (node_id, heartbeat_at) VALUES ($1, now())
           ON CONFLICT (node_id) DO UPDATE SET heartbeat_at = excluded.heartbeat_at`,
        [this.nodeId],
      );
    } catch (e) {
      this.beatingSince = undefined;
      throw e;
    }
    const t = this.now();
    // A gap (a failed beat, or one that hung through an outage) starts the count again.
    if (this.lastBeat === undefined || t - this.lastBeat > 2 * this.timing.heartbeatMs) this.beatingSince = t;
    this.lastBeat = t;
  }

  async adoptLapsed(): Promise<LapsedTarget[]> {
    if (!this.ready) return [];
    // SKIP LOCKED: of survivors adopting at once, each row goes to one; a row another took meanwhile
    // names a live node when rechecked, so it is not taken twice.
    const { rows } = await sql<AdoptedRow>(
      this.db,
      `WITH taken AS (
         SELECT r.uuid, r.client_id, r.node_id AS was FROM upload_results r
           WHERE r.status = 'pending' AND r.node_id <> $1 AND r.node_id IN
             (SELECT node_id FROM nodes WHERE heartbeat_at < now() - $2::bigint * interval '1 millisecond')
           FOR UPDATE OF r SKIP LOCKED)
       UPDATE upload_results u SET node_id = $1 FROM taken
         WHERE u.uuid = taken.uuid AND u.client_id = taken.client_id
         RETURNING u.uuid, u.client_id, taken.was, COALESCE(
           (SELECT a.username FROM audit_log a
             WHERE a.upload_uuid = u.uuid AND a.action = 'accepted' AND a.client_id IS NULL LIMIT 1), ''
         ) AS requested_by`,
      [this.nodeId, this.timing.lapseMs],
    );
    return rows
      .map((r) => ({ uuid: r.uuid, client_id: r.client_id, requested_by: r.requested_by, node_id: r.was }))
      .sort((a, b) => a.uuid.localeCompare(b.uuid) || a.client_id.localeCompare(b.client_id));
  }

  async freeLapsedClaims(): Promise<string[]> {
    if (!this.ready) return [];
    const { rows } = await sql<{ client_id: string }>(
      this.db,
      `UPDATE delivery_queue SET claimed_by = NULL, claimed_until = NULL
         WHERE claimed_by <> $3 AND claimed_until > now() AND ${lapsedNodes(1, 2)}
         RETURNING client_id`,
      [true, this.timing.lapseMs, this.nodeId],
    );
    return [...new Set(rows.map((r) => r.client_id))].sort();
  }
}
