import type { NatsConnection, Subscription } from '@nats-io/transport-node';
import type { NodeRouting } from '../../ports/cluster-routing.ts';

/** The longest client id a wake-up may carry; anything longer is not one of ours. */
const MAX_CLIENT_ID = 1024;

/**
 * The subject that tells node `nodeId` to serve a client's queued targets. Node ids may hold dots
 * (a hostname), which NATS reads as token separators: they become "~", which no node id holds.
 */
export function serveSubject(nodeId: string): string {
  return `rport.node.${nodeId.replaceAll('.', '~')}.serve`;
}

/** What a wake-up carries, checked: a client id, or why the message is not one. */
export function clientOfWake(data: Uint8Array): { clientId: string } | { error: string } {
  let body: unknown;
  try {
    body = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(data));
  } catch (e) {
    return { error: `not UTF-8 JSON (${(e as Error).message})` };
  }
  const id = (body as { client_id?: unknown } | null)?.client_id;
  if (typeof id !== 'string' || id === '' || id.length > MAX_CLIENT_ID)
    return { error: `client_id must be a string of 1 to ${MAX_CLIENT_ID} characters` };
  return { clientId: id };
}

/**
 * NodeRouting over the shared client registry (which node holds each connection) and NATS (one
 * subject per node). A wake-up is a plain publish: NATS keeps no copy, so one sent while a node is
 * cut off is lost, and that node's sweep or the client's next connect serves the target instead.
 */
export class NatsNodeRouting implements NodeRouting {
  constructor(
    private readonly connection: NatsConnection,
    private readonly nodeId: string,
    /** The node holding the client's connection, undefined when none does (the registry's nodeOf). */
    private readonly nodeOf: (clientId: string) => Promise<string | undefined>,
  ) {}

  async otherNodeOf(clientId: string): Promise<string | undefined> {
    const node = await this.nodeOf(clientId);
    return node === undefined || node === this.nodeId ? undefined : node;
  }

  /** Publishes at once (a closed connection rejects); NATS delivers it to the node if it listens. */
  wake(nodeId: string, clientId: string): Promise<void> {
    try {
      this.connection.publish(serveSubject(nodeId), JSON.stringify({ client_id: clientId }));
      return Promise.resolve();
    } catch (e) {
      return Promise.reject(e as Error);
    }
  }

  /**
   * Calls onServe with the client id of each wake-up sent to this node; a malformed one is passed to
   * onBad and dropped. Stop it with the subscription's unsubscribe (or by closing the connection).
   */
  listen(onServe: (clientId: string) => void, onBad: (error: string) => void): Subscription {
    return this.connection.subscribe(serveSubject(this.nodeId), {
      callback: (err, msg) => {
        if (err) return onBad(err.message);
        const r = clientOfWake(msg.data);
        if ('error' in r) onBad(r.error);
        else onServe(r.clientId);
      },
    });
  }
}
