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
