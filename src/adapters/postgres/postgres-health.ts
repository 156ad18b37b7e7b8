import type { DatabaseHealth, DatabaseState } from '../../ports/database-health.ts';

export interface PostgresHealthOptions {
  /** check() answers from a probe at most this old. */
  intervalMs?: number;
  /** A probe without an answer by then counts as a failure (a connect to a silent host can hang). */
  timeoutMs?: number;
  /** Told once per change: when the database stops answering, and when it answers again. */
  onChange?: (state: DatabaseState) => void;
  now?: () => number;
}

/**
 * The shared database's health, from `SELECT 1` probes: one at a time, and at most one per interval
 * on behalf of callers, so a storm of requests never becomes a storm of queries. A connection the
 * pool loses triggers a probe at once; while the database is down a timer probes each interval, so
 * the node notices (and logs) its return even when nobody asks.
 */
export class PostgresHealth implements DatabaseHealth {
  readonly kind = 'postgres';
  private state: DatabaseState = { ok: true };
  private probedAt: number;
  private inflight?: Promise<DatabaseState>;
  private retry?: NodeJS.Timeout;
  private stopped = false;
  private readonly intervalMs: number;
  private readonly timeoutMs: number;
  private readonly now: () => number;

  constructor(
    private readonly probe: () => Promise<unknown>,
    private readonly opts: PostgresHealthOptions = {},
  ) {
    this.intervalMs = opts.intervalMs ?? 2000;
    this.timeoutMs = opts.timeoutMs ?? 5000;
    this.now = opts.now ?? Date.now;
    // Start-up has just migrated the schema: the database answered.
    this.probedAt = this.now();
  }

  async check(): Promise<DatabaseState> {
    if (this.inflight === undefined && this.now() - this.probedAt < this.intervalMs) return this.state;
    return this.probeOnce();
  }

  /** The pool reported a dropped connection: the server may be gone, so ask it now. */
  lost(): void {
    if (!this.stopped) void this.probeOnce();
  }

  /** No more probes (shutdown: the pool is about to end). */
  stop(): void {
    this.stopped = true;
    clearTimeout(this.retry);
  }

  private probeOnce(): Promise<DatabaseState> {
    this.inflight ??= this.run().finally(() => (this.inflight = undefined));
    return this.inflight;
  }

  private async run(): Promise<DatabaseState> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`no answer to SELECT 1 within ${this.timeoutMs / 1000} s`)),
        this.timeoutMs,
      );
      timer.unref();
    });
    let next: DatabaseState;
    try {
      await Promise.race([this.probe(), timeout]);
      next = { ok: true };
    } catch (e) {
      next = { ok: false, detail: reasonOf(e) };
    } finally {
      clearTimeout(timer);
    }
    this.probedAt = this.now();
    const changed = next.ok !== this.state.ok;
    this.state = next;
    if (changed && !this.stopped) this.opts.onChange?.(next);
    clearTimeout(this.retry);
    if (!next.ok && !this.stopped) {
      this.retry = setTimeout(() => void this.probeOnce(), this.intervalMs);
      this.retry.unref();
    }
    return next;
  }
}

/** A failure's message; a connect refused on every address of a host is an AggregateError without one. */
function reasonOf(e: unknown): string {
  if (e instanceof AggregateError && !e.message) return reasonOf(e.errors[0]);
  if (e instanceof Error) return e.message || (e as NodeJS.ErrnoException).code || e.name;
  return String(e);
}
