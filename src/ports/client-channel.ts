import type { PushVerdict } from '../domain/outcome.ts';
import type { PushRequest } from '../domain/push-request.ts';

/** Progress a client reports while fetching. */
export interface PushProgress {
  bytes: number;
}

/** The server's line to one connected client. */
export interface ClientChannel {
  /**
   * Asks the client to fetch and place a file, and resolves with its verdict. Rejects when the
   * connection drops before the verdict arrives, or when signal aborts.
   */
  push(
    request: PushRequest,
    signal: AbortSignal,
    onProgress?: (p: PushProgress) => void,
  ): Promise<PushVerdict>;
}

/** The channels of the clients connected now. */
export interface ClientChannels {
  /** The channel of a connected client; undefined when it is not connected. */
  channelFor(clientId: string): ClientChannel | undefined;
}
