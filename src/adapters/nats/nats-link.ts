import { connect, type NatsConnection } from '@nats-io/transport-node';
import { jetstream, jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { Objm, type ObjectStore } from '@nats-io/obj';
import { natsFailure } from './nats-errors.ts';

export const DEFAULT_STAGED_BUCKET = 'rport-staged';

export interface NatsLinkOptions {
  /** `[cluster] nats_url`. */
  url: string;
  bucket?: string;
  /** How long one JetStream request may wait for its answer (also while NATS restarts). */
  requestTimeoutMs?: number;
}

/**
 * One node's connection to NATS and its staged-files bucket. The connection retries for ever: a
 * restarted NATS is picked up without restarting rportd, and requests made meanwhile fail after
 * requestTimeoutMs with SharedStagingUnavailableError.
 */
export class NatsLink {
  private constructor(
    readonly url: string,
    readonly connection: NatsConnection,
    readonly manager: JetStreamManager,
    readonly store: ObjectStore,
    /** The JetStream stream behind the bucket (`OBJ_<bucket>`). */
    readonly stream: string,
    readonly bucket: string,
  ) {}

  /** Connects and creates the bucket when it is missing; an unreachable NATS fails naming `[cluster] nats_url`. */
  static async open(opts: NatsLinkOptions): Promise<NatsLink> {
    const bucket = opts.bucket ?? DEFAULT_STAGED_BUCKET;
    const timeout = opts.requestTimeoutMs ?? 5_000;
    let connection: NatsConnection | undefined;
    try {
      connection = await connect({
        servers: opts.url.split(',').map((s) => s.trim()),
        name: 'rportd',
        timeout,
        maxReconnectAttempts: -1,
        reconnectTimeWait: 500,
      });
      const js = jetstream(connection, { timeout });
      const manager = await jetstreamManager(connection, { timeout });
      const store = await new Objm(js).create(bucket, { description: 'rportd staged uploads' });
      return new NatsLink(opts.url, connection, manager, store, `OBJ_${bucket}`, bucket);
    } catch (e) {
      await connection?.close().catch(() => undefined);
      throw natsFailure(e, opts.url, `open the bucket ${bucket}`);
    }
  }

  /** The subject holding an object's metadata: `$O.<bucket>.M.<name, base64url with padding>` (ADR-20). */
  metaSubject(name: string): string {
    const b64 = Buffer.from(name).toString('base64url');
    return `$O.${this.bucket}.M.${b64}${'='.repeat((4 - (b64.length % 4)) % 4)}`;
  }

  chunkSubject(nuid: string): string {
    return `$O.${this.bucket}.C.${nuid}`;
  }

  async close(): Promise<void> {
    await this.connection.close();
  }
}
