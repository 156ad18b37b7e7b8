import type { WebSocket } from 'ws';
import { mayReadUpload, type Caller } from '../../domain/caller.ts';
import { messageOf } from '../../domain/errors.ts';
import type { PushOutcome } from '../../domain/outcome.ts';
import type { TransferProgress } from '../../domain/transfer-progress.ts';
import type { Logger } from '../../ports/logger.ts';
import type { ProgressBroadcaster } from '../../ports/progress-broadcaster.ts';
import type { ResultBroadcaster } from '../../ports/result-broadcaster.ts';

interface BroadcasterSettings {
  /** A listener with more unsent bytes than this is too slow: it is disconnected, never waited for. */
  maxBufferedBytes: number;
  /** Ping interval; a listener that misses a pong is dropped. */
  pingIntervalMs: number;
  /** A listener with more unsent bytes than this is skipped for progress: progress is never worth a backlog. */
  maxProgressBufferedBytes?: number;
}

const PROGRESS_BUFFERED_BYTES = 64 * 1024;

const DEFAULT_BROADCASTER_SETTINGS: BroadcasterSettings = {
  maxBufferedBytes: 1024 * 1024,
  pingIntervalMs: 30_000,
};

/** What a listener asked for when it connected. */
export interface ListenerOptions {
  /** Also send `{type:"progress",…}` messages (`?progress=1`); without it the messages are exactly the outcomes. */
  progress: boolean;
}

interface Listener {
  caller: Caller;
  alive: boolean;
  progress: boolean;
}

/**
 * Sends each outcome, in order, to the WebSocket listeners whose user may read its upload
 * (`mayReadUpload`), and each transfer progress, in the same order, to those of them that asked for it.
 */
export class WsResultBroadcaster implements ResultBroadcaster, ProgressBroadcaster {
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

  add(ws: WebSocket, caller: Caller, options: ListenerOptions = { progress: false }): void {
    const l: Listener = { caller, alive: true, progress: options.progress };
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

  progress(p: TransferProgress, requestedBy: string): void {
    if (![...this.listeners.values()].some((l) => l.progress)) return;
    // Behind the outcomes queued before it, so a listener never sees a target's progress after its outcome.
    this.queue = this.queue
      .then(() => this.deliverProgress(p, requestedBy))
      .catch((e: unknown) =>
        this.logger.error({ uuid: p.uuid, err: messageOf(e) }, 'broadcasting a progress failed'),
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

  private deliverProgress(p: TransferProgress, requestedBy: string): void {
    let text: string | undefined;
    for (const [ws, l] of this.listeners) {
      if (!l.progress || !mayReadUpload(l.caller, requestedBy) || ws.readyState !== ws.OPEN) continue;
      // A listener that is behind misses progress rather than falling further behind; outcomes still decide whether it is dropped.
      if (ws.bufferedAmount > (this.settings.maxProgressBufferedBytes ?? PROGRESS_BUFFERED_BYTES)) continue;
      text ??= JSON.stringify({
        type: 'progress',
        uuid: p.uuid,
        client_id: p.client_id,
        bytes: p.bytes,
        size: p.size,
      });
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
