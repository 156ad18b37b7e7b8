import type { Clock } from '../ports/clock.ts';

/** The longest single timer a platform keeps exactly (a signed 32-bit count of milliseconds). */
const LONGEST_SLEEP_MS = 2 ** 31 - 1;

/**
 * Resolves once the clock reaches `until` (at once when it already has); rejects when signal aborts.
 * Sleeps in steps no longer than a timer can hold, so days-long deadlines stay exact.
 */
export async function sleepUntil(clock: Clock, until: Date, signal: AbortSignal): Promise<void> {
  for (let left = until.getTime() - clock.now().getTime(); left > 0;) {
    await clock.sleep(Math.min(left, LONGEST_SLEEP_MS), signal);
    left = until.getTime() - clock.now().getTime();
  }
}

/**
 * Deadlines that can all be let go at once (rportd stops). Each has its own signal: thousands of
 * queued targets on one shared signal would pile listeners onto it.
 */
export class Deadlines {
  private readonly live = new Set<AbortController>();
  private closed = false;

  constructor(private readonly clock: Clock) {}

  /** Resolves true at `until`, or false when closed first. */
  async reach(until: Date): Promise<boolean> {
    if (this.closed) return false;
    const ac = new AbortController();
    this.live.add(ac);
    try {
      await sleepUntil(this.clock, until, ac.signal);
      return true;
    } catch {
      return false;
    } finally {
      this.live.delete(ac);
    }
  }

  close(): void {
    this.closed = true;
    const reason = new Error('rportd is stopping');
    for (const ac of this.live) ac.abort(reason);
  }
}
