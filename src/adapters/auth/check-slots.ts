/**
 * Password checks running at once per source address. The penalties are decided when a check
 * ends, so checks that all began before the first failure would each be one free guess: this
 * bounds how many a burst of connections from one address gets.
 */
export class CheckSlots {
  private readonly bySource = new Map<string, { running: number; waiting: (() => void)[] }>();

  /** Starts a check if fewer than `limit` of this source are running. */
  tryTake(source: string, limit: number): boolean {
    let s = this.bySource.get(source);
    if (!s) this.bySource.set(source, (s = { running: 0, waiting: [] }));
    if (s.running >= limit) return false;
    s.running += 1;
    return true;
  }

  /** Resolves when a check of this source ends: the caller decides again (a penalty may have begun). */
  wait(source: string): Promise<void> {
    const s = this.bySource.get(source);
    if (!s) return Promise.resolve();
    return new Promise((resolve) => s.waiting.push(resolve));
  }

  release(source: string): void {
    const s = this.bySource.get(source);
    if (!s) return;
    s.running -= 1;
    // All of them: one that is refused now does not take the slot, and must not leave the rest asleep.
    for (const wake of s.waiting.splice(0)) wake();
    if (s.running === 0) this.bySource.delete(source);
  }

  /** Attempts waiting for a slot now (tests). */
  waiting(source: string): number {
    return this.bySource.get(source)?.waiting.length ?? 0;
  }
}
