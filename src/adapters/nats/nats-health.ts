import type { NatsConnection } from '@nats-io/transport-node';
import type { MessageBusHealth, MessageBusState } from '../../ports/message-bus-health.ts';

export interface NatsHealthOptions {
  /** check() answers from a probe at most this old. */
  intervalMs?: number;
  /** A probe (a PING to the server) without its PONG by then counts as a failure. */
  timeoutMs?: number;
  /** Told once per change: when NATS stops answering, and when it answers again. */
  onChange?: (state: MessageBusState) => void;
  now?: () => number;
}

/**
 * The health of the node's NATS connection. The client's own events tell a lost connection and its
 * return at once; between them a round trip (flush: PING, PONG), at most one per interval and shared
 * by concurrent callers, tells a server that stopped answering without closing the connection.
 */
export class NatsHealth implements MessageBusHealth {
  readonly kind = 'nats';
  private state: MessageBusState = { ok: true };
  /** The client is reconnecting: no probe can answer until it is back. */
  private disconnected = false;
  private probedAt: number;
  private inflight?: Promise<MessageBusState>;
  private stopped = false;
  private readonly intervalMs: number;
  private readonly timeoutMs: number;
  private readonly now: () => number;

  constructor(
    private readonly connection: NatsConnection,
    private readonly opts: NatsHealthOptions = {},
  ) {
    this.intervalMs = opts.intervalMs ?? 2000;
    this.timeoutMs = opts.timeoutMs ?? 5000;
    this.now = opts.now ?? Date.now;
    // Start-up has just connected and opened the bucket: NATS answered.
    this.probedAt = this.now();
    // The events end with the connection; a failing iterator only stops them, never the process.
    this.watch().catch(() => undefined);
  }

  /** Whether the connection is up now, as far as the client knows (no probe). */
  get connected(): boolean {
    return !this.disconnected && !this.stopped;
  }

  async check(): Promise<MessageBusState> {
    if (this.disconnected || this.stopped) return this.state;
    if (this.inflight === undefined && this.now() - this.probedAt < this.intervalMs) return this.state;
    this.inflight ??= this.probe().finally(() => (this.inflight = undefined));
    return this.inflight;
  }

  /** No more changes reported (shutdown: the connection is about to close). */
  stop(): void {
    this.stopped = true;
  }

  private async watch(): Promise<void> {
    for await (const s of this.connection.status()) {
      if (this.stopped) return;
      if (s.type === 'disconnect') {
        this.disconnected = true;
        this.set({ ok: false, detail: `the connection to ${s.server} was lost; reconnecting` });
      } else if (s.type === 'reconnect') {
        this.disconnected = false;
        this.probedAt = this.now();
        this.set({ ok: true });
      }
    }
  }

  private async probe(): Promise<MessageBusState> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`no answer to a PING within ${this.timeoutMs / 1000} s`)),
        this.timeoutMs,
      );
      timer.unref();
    });
    const flushed = this.connection.flush();
    // A flush that outlives its timeout settles later (at the reconnect, or the close): nobody waits then.
    flushed.catch(() => undefined);
    let next: MessageBusState;
    try {
      await Promise.race([flushed, timeout]);
      next = { ok: true };
    } catch (e) {
      next = { ok: false, detail: (e as Error).message || String(e) };
    } finally {
      clearTimeout(timer);
    }
    this.probedAt = this.now();
    // A disconnect seen meanwhile says more than the probe that it interrupted.
    if (!this.disconnected) this.set(next);
    return this.state;
  }

  private set(next: MessageBusState): void {
    const changed = next.ok !== this.state.ok;
    this.state = next;
    if (changed && !this.stopped) this.opts.onChange?.(next);
  }
}
