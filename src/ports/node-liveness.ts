/** A pending target whose pushing node stopped beating, now this node's to finish. */
export interface LapsedTarget {
  uuid: string;
  client_id: string;
  /** Who made the upload (empty when its audit entry is missing). */
  requested_by: string;
  /** The node whose heartbeat lapsed. */
  node_id: string;
}

/**
 * A cluster node's heartbeat, and what the survivors take over from a node whose heartbeat lapsed:
 * its pending targets and its claims on queued ones.
 */
export interface NodeLiveness {
  /** Writes this node's heartbeat; rejects when the database cannot be reached. */
  beat(): Promise<void>;
  /**
   * Makes this node the one pushing each pending target of a lapsed node, and returns them; of
   * nodes taking over at once, each target goes to one. Empty until this node has beaten long
   * enough to judge the others (after its start, or after an outage of the database).
   */
  adoptLapsed(): Promise<LapsedTarget[]>;
  /** Drops the lapsed nodes' claims on queued targets; returns the clients of those targets. */
  freeLapsedClaims(): Promise<string[]>;
}
