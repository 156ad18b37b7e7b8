/**
 * Where the clients of a cluster are connected, and the nodes' doorbell: a node that cannot push a
 * target itself (the client holds its connection on another node) hands it to that node.
 */
export interface NodeRouting {
  /** The other node holding the client's connection; undefined when it is connected here or to no node. */
  otherNodeOf(clientId: string): Promise<string | undefined>;
  /**
   * Tells node `nodeId` to serve the client's queued targets now. Best effort: a node that misses it
   * serves them on the client's next connect, or on its periodic sweep.
   */
  wake(nodeId: string, clientId: string): Promise<void>;
}

/** Whether an upload still has targets waiting for a final outcome, on any node. */
export interface OpenTargets {
  anyOpen(uuid: string): Promise<boolean>;
}
