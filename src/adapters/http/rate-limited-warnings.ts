import type { Logger } from '../../ports/logger.ts';

interface WarningLimits {
  /** Lines written per window; the rest are counted. */
  perWindow: number;
  windowMs: number;
  /** Milliseconds now; injectable so that tests need not wait a window. */
  now: () => number;
}

const DEFAULT_LIMITS: WarningLimits = { perWindow: 10, windowMs: 60_000, now: Date.now };

/**
 * Warn lines that anyone on the network can cause (unauthenticated requests): at most `perWindow`
 * lines per window, then one line saying how many were suppressed, so a flood cannot fill the
 * disk or drown the log.
 */
export class RateLimitedWarnings {
  private windowStart = -Infinity;
  private written = 0;
  private suppressed = 0;
  private flushTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly logger: Logger,
    private readonly message: string,
    private readonly limits: WarningLimits = DEFAULT_LIMITS,
  ) {}

  warn(fields: Record<string, unknown>): void {
    const now = this.limits.now();
    if (now - this.windowStart >= this.limits.windowMs) {
      this.flush();
      this.windowStart = now;
      this.written = 0;
    }
    if (this.written < this.limits.perWindow) {
      this.written++;
      this.logger.warn(fields, this.message);
      return;
    }
    this.suppressed++;
    // Said at the window's end even when the flood stops: the last burst is not lost.
    this.flushTimer ??= setTimeout(() => this.flush(), this.windowStart + this.limits.windowMs - now);
    this.flushTimer.unref();
  }

  /** Writes the "suppressed" line of the window that ended, if lines were suppressed. */
  flush(): void {
    clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    if (this.suppressed === 0) return;
    this.logger.warn(
      { suppressed: this.suppressed, window_s: this.limits.windowMs / 1000 },
      `${this.message}: ${this.suppressed} more suppressed (at most ${this.limits.perWindow} lines per ${this.limits.windowMs / 1000} s)`,
    );
    this.suppressed = 0;
  }
}
