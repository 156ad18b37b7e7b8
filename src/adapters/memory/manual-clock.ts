import type { Clock } from '../../ports/clock.ts';

interface Timer {
  at: number;
  seq: number;
  resolve: () => void;
}

/** Lets every pending promise callback and immediate run before virtual time moves on. */
export async function settle(turns = 3): Promise<void> {
  for (let i = 0; i < turns; i++) await new Promise<void>((r) => setImmediate(r));
}

/**
 * Virtual time: sleep() waits until a test (or the simulation) advances the clock. Timers fire in
 * due order, ties in the order they were set, so a run repeats exactly.
 */
export class ManualClock implements Clock {
  private current: number;
  private seq = 0;
  private timers: Timer[] = [];

  constructor(start: Date = new Date('2024-01-01T00:00:00Z')) {
    this.current = start.getTime();
  }

  now(): Date {
    return new Date(this.current);
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
      if (signal?.aborted) return reject(signal.reason);
      const timer: Timer = {
        at: this.current + Math.max(0, ms),
        seq: this.seq++,
        resolve: () => {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        },
      };
      const onAbort = (): void => {
        this.timers = this.timers.filter((t) => t !== timer);
        reject(signal?.reason);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.timers.push(timer);
    });
  }

  get pendingTimers(): number {
    return this.timers.length;
  }

  /** Moves time forward by ms, firing each due timer at its own instant and letting its callbacks run. */
  async advance(ms: number): Promise<void> {
    const target = this.current + ms;
    for (;;) {
      await settle();
      const next = this.nextTimer();
      if (!next || next.at > target) break;
      this.fire(next);
    }
    this.current = target;
    await settle();
  }

  /**
   * Drives virtual time until work settles. Throws when work is still pending with no timer left to
   * fire: that is a hang, which virtual time makes visible instead of waiting forever.
   */
  async run<T>(work: Promise<T>, limitMs = 24 * 3600_000): Promise<T> {
    let done = false;
    const watched = work.finally(() => {
      done = true;
    });
    watched.catch(() => undefined);
    const deadline = this.current + limitMs;
    for (;;) {
      await settle();
      if (done) return watched;
      const next = this.nextTimer();
      if (!next) throw new Error('work is pending with no timer left: it would hang forever');
      if (next.at > deadline) throw new Error(`work still pending after ${limitMs} ms of virtual time`);
      this.fire(next);
    }
  }

  private nextTimer(): Timer | undefined {
    let best: Timer | undefined;
    for (const t of this.timers)
      if (!best || t.at < best.at || (t.at === best.at && t.seq < best.seq)) best = t;
    return best;
  }

  private fire(t: Timer): void {
    this.timers = this.timers.filter((x) => x !== t);
    this.current = Math.max(this.current, t.at);
    t.resolve();
  }
}
