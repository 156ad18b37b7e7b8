/**
 * At most one log line per key (a source address) in each window; the lines held back are counted
 * and reported with the next one that goes out. A client hammering an endpoint that refuses it then
 * cannot flood the log, and the count still says how hard it tried.
 */
export class LineBudget {
  private readonly keys = new Map<string, { windowStart: number; held: number }>();

  constructor(
    private readonly windowMs: number,
    private readonly now: () => number = Date.now,
    private readonly maxKeys = 10_000,
  ) {}

  /** Undefined: hold this line back. Otherwise log it, with `suppressed` lines held back since the last. */
  take(key: string): { suppressed: number } | undefined {
    const now = this.now();
    const entry = this.keys.get(key);
    if (entry && now - entry.windowStart < this.windowMs) {
      entry.held += 1;
      return undefined;
    }
    const suppressed = entry?.held ?? 0;
    this.keys.delete(key);
    this.keys.set(key, { windowStart: now, held: 0 });
    if (this.keys.size > this.maxKeys) this.keys.delete(this.keys.keys().next().value!);
    return { suppressed };
  }
}
