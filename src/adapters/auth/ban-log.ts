import type { Logger } from '../../ports/logger.ts';

/** What a ledger keeps of its running ban, for the log. */
export interface BanRecord {
  /** The penalty's end: the ban's end as it is set. */
  until: number;
  /** End of a ban whose expiry is still to be logged (0: none). */
  banUntil: number;
  /** The credential id the ban was logged with. */
  bannedId: string;
}

/** How often running bans are looked over for ones that have ended, so each end is logged near its time. */
const SWEEP_EVERY_MS = 1000;

/**
 * The end of each SSH login ban, logged at warn once it has passed: when the address or anyone else
 * next connects (a sweep at most once a second), or when its ledger is forgotten. The ban's start is
 * logged by LoginPenalties, with its expiry.
 */
export class BanLog {
  /** Bans whose end is still to be logged, with the address they were logged with. */
  private readonly running = new Map<BanRecord, string>();
  private lastSweep = 0;

  constructor(private readonly logger: Logger) {}

  /** A ban begins (or follows on from one that is replaced, which then ends without a line). */
  began(ledger: BanRecord, source: string, id: string): void {
    ledger.banUntil = ledger.until;
    ledger.bannedId = id;
    this.running.set(ledger, source);
  }

  /** Logs the ban's end if it has passed. */
  check(ledger: BanRecord, source: string, now: number): void {
    if (ledger.banUntil === 0 || now < ledger.banUntil) return;
    this.logger.warn(
      {
        address: source,
        credential_id: ledger.bannedId,
        expired_at: new Date(ledger.banUntil).toISOString(),
      },
      'client login ban expired',
    );
    this.forget(ledger);
  }

  /** The ledger starts afresh (a right password): its ban, if any, is over without a line. */
  forget(ledger: BanRecord): void {
    ledger.banUntil = 0;
    this.running.delete(ledger);
  }

  sweep(now: number): void {
    if (this.running.size === 0 || now - this.lastSweep < SWEEP_EVERY_MS) return;
    this.lastSweep = now;
    for (const [ledger, source] of this.running) this.check(ledger, source, now);
  }

  /** The ledger is dropped to bound memory: a ban it still held ends now, and the log says so. */
  evicted(ledger: BanRecord, now: number, tracked: number): void {
    const source = this.running.get(ledger);
    if (source === undefined) return;
    this.check(ledger, source, now);
    if (ledger.banUntil === 0) return;
    this.logger.warn(
      {
        address: source,
        credential_id: ledger.bannedId,
        expires_at: new Date(ledger.banUntil).toISOString(),
        tracked,
      },
      'client login ban lifted early: too many addresses and credential ids are tracked',
    );
    this.forget(ledger);
  }
}
