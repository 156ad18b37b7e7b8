import type { Logger } from '../../ports/logger.ts';

export interface AuthGuardSettings {
  /** Failed attempts from one address before it is banned. */
  maxFailures: number;
  /** How long a ban lasts, and how long failures are remembered. */
  banMs: number;
  /**
   * Delay before answering a failed attempt; doubles with each failure, capped at 4x. The SSH
   * login (LoginPenalties) uses it as its first penalty window instead.
   */
  failureDelayMs: number;
}

export const DEFAULT_AUTH_GUARD: AuthGuardSettings = {
  maxFailures: 5,
  banMs: 10 * 60_000,
  failureDelayMs: 1000,
};

interface Record {
  failures: number;
  lastFailure: number;
  bannedUntil: number;
}

const MAX_TRACKED = 100_000; // bounds memory against address-spraying

/** Slows down and then bans password guessing, per source address (the HTTP API's logins; the SSH login uses LoginPenalties). */
export class AuthGuard {
  private readonly byAddress = new Map<string, Record>();

  constructor(
    private readonly settings: AuthGuardSettings = DEFAULT_AUTH_GUARD,
    private readonly now: () => number = Date.now,
    /** Failed logins and bans go here (warn), never a password. */
    private readonly logger?: Logger,
  ) {}

  isBanned(address: string): boolean {
    const r = this.byAddress.get(address);
    if (r === undefined || r.bannedUntil === 0) return false;
    const now = this.now();
    if (r.bannedUntil > now) return true;
    this.logger?.warn(
      { address, expired_at: new Date(r.bannedUntil).toISOString() },
      'API login ban expired',
    );
    r.bannedUntil = 0;
    return false;
  }

  /** Records a failure; resolves after the delay the caller should wait before answering. */
  async failed(address: string, username?: string): Promise<void> {
    const now = this.now();
    let r = this.byAddress.get(address);
    if (!r || now - r.lastFailure > this.settings.banMs)
      r = { failures: 0, lastFailure: now, bannedUntil: 0 };
    r.failures += 1;
    r.lastFailure = now;
    this.logger?.warn(
      { address, username, failures: r.failures, max_failed_login: this.settings.maxFailures },
      'API login failed',
    );
    if (r.failures >= this.settings.maxFailures) {
      const began = r.bannedUntil <= now;
      r.bannedUntil = now + this.settings.banMs;
      if (began)
        this.logger?.warn(
          {
            address,
            username,
            failures: r.failures,
            ban_s: Math.ceil(this.settings.banMs / 1000),
            expires_at: new Date(r.bannedUntil).toISOString(),
          },
          'API login banned: every login from this address is refused ([api] max_failed_login, ban_time)',
        );
    }
    this.remember(address, r);
    const delay = this.settings.failureDelayMs * Math.min(4, 2 ** (r.failures - 1));
    await new Promise((resolve) => setTimeout(resolve, delay));
  }

  succeeded(address: string): void {
    this.byAddress.delete(address);
  }

  private remember(address: string, r: Record): void {
    this.byAddress.delete(address);
    this.byAddress.set(address, r);
    if (this.byAddress.size > MAX_TRACKED) {
      const oldest = this.byAddress.keys().next().value;
      if (oldest !== undefined) this.byAddress.delete(oldest);
    }
  }
}
