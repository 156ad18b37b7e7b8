/** One step of the rotation: which server failed, which one is tried next, and whether that closes a round. */
export interface RotationStep<T> {
  from: T;
  to: T;
  /** Every server of the list has failed since the last success (or the start): back off, then start again from the first. */
  roundFailed: boolean;
}

/**
 * The order in which the agent tries the servers of `[client] server`: the first one at start; on
 * a failure the next one, at once; after a whole round of failures the first one again. A server
 * that answered is kept until it fails (sticky), so agents do not all crowd back onto the first
 * node the moment it returns, and the round that follows its failure starts with the one after it.
 */
export class ServerRotation<T> {
  private at = 0;
  /** Servers that failed since the last success or the last full round. */
  private failedInRound = 0;

  constructor(private readonly servers: readonly T[]) {
    if (servers.length === 0) throw new Error('ServerRotation needs at least one server');
  }

  get current(): T {
    return this.servers[this.at];
  }

  get size(): number {
    return this.servers.length;
  }

  /** The current server let the agent in: stay on it, and count the next round from it. */
  succeeded(): void {
    this.failedInRound = 0;
  }

  /** The current server failed (could not connect, refused, or dropped the connection): move on. */
  failed(): RotationStep<T> {
    const from = this.current;
    this.failedInRound += 1;
    const roundFailed = this.failedInRound >= this.servers.length;
    if (roundFailed) {
      this.failedInRound = 0;
      this.at = 0;
    } else {
      this.at = (this.at + 1) % this.servers.length;
    }
    return { from, to: this.current, roundFailed };
  }
}
