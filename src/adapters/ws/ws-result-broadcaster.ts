import type { WebSocket } from 'ws';
import { mayReadUpload, type Caller } from '../../domain/caller.ts';
import { messageOf } from '../../domain/errors.ts';
import type { PushOutcome } from '../../domain/outcome.ts';
import type { Logger } from '../../ports/logger.ts';
import type { ResultBroadcaster } from '../../ports/result-broadcaster.ts';

interface BroadcasterSettings {
  /** A listener with more unsent bytes than this is too slow: it is disconnected, never waited for. */
  maxBufferedBytes: number;
  /** Ping interval; a listener that misses a pong is dropped. */
  pingIntervalMs: number;
}

const DEFAULT_BROADCASTER_SETTINGS: BroadcasterSettings = {
  maxBufferedBytes: 1024 * 1024,
  pingIntervalMs: 30_000,
};

interface Listener {
  caller: Caller;
  alive: boolean;
}

/** Sends each outcome, in order, to the WebSocket listeners whose user may read its upload (`mayReadUpload`). */
export class WsResultBroadcaster implements ResultBroadcaster {
  private readonly listeners = new Map<WebSocket, Listener>();
  private queue: Promise<void> = Promise.resolve();
  private readonly pinger: NodeJS.Timeout;

  constructor(
    private readonly logger: Logger,
    private readonly settings: BroadcasterSettings = DEFAULT_BROADCASTER_SETTINGS,
  ) {
    this.pinger = setInterval(() => this.ping(), settings.pingIntervalMs);
    this.pinger.unref();
  }

  get size(): number {
    return this.listeners.size;
  }

  add(ws: WebSocket, caller: Caller): void {
    const l: Listener = { caller, alive: true };
    this.listeners.set(ws, l);
    ws.on('pong', () => (l.alive = true));
    ws.on('close', () => this.listeners.delete(ws));
    ws.on('error', () => this.drop(ws));
    // Listeners only listen: anything they send is ignored.
    ws.on('message', () => undefined);
  }

  publish(outcome: PushOutcome, requestedBy: string): void {
    // One outcome at a time, behind any earlier one still queued, keeps the order.
    this.queue = this.queue
      .then(() => this.deliver(outcome, requestedBy))
      .catch((e: unknown) =>
        this.logger.error({ uuid: outcome.uuid, err: messageOf(e) }, 'broadcasting an outcome failed'),
      );
  }

  /** Resolves when every outcome published so far has been handed to the sockets. */
  flushed(): Promise<void> {
    return this.queue;
  }

  close(): void {
    clearInterval(this.pinger);
    for (const ws of this.listeners.keys()) ws.close(1001, 'server shutting down');
    this.listeners.clear();
  }

  private deliver(outcome: PushOutcome, requestedBy: string): void {
    if (this.listeners.size === 0) return;
    const text = JSON.stringify({
      client_id: outcome.client_id,
      uuid: outcome.uuid,
      filepath: outcome.filepath,
      size: outcome.size,
      message: outcome.message,
      status: outcome.status,
      changed: outcome.changed,
      ...(outcome.backup === undefined ? {} : { backup: outcome.backup }),
      ...(outcome.diff === undefined ? {} : { diff: outcome.diff }),
    });
    for (const [ws, l] of this.listeners) {
      if (!mayReadUpload(l.caller, requestedBy) || ws.readyState !== ws.OPEN) continue;
      if (ws.bufferedAmount > this.settings.maxBufferedBytes) {
        this.logger.warn(
          { user: l.caller.username, buffered: ws.bufferedAmount },
          'results listener too slow; disconnected',
        );
        this.drop(ws);
        continue;
      }
      ws.send(text);
    }
  }

  private ping(): void {
    for (const [ws, l] of this.listeners) {
      if (!l.alive) {
        this.drop(ws);
        continue;
      }
      l.alive = false;
      ws.ping();
    }
  }

  private drop(ws: WebSocket): void {
    this.listeners.delete(ws);
    ws.terminate();
  }
}
