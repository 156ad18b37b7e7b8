/**
 * Penalties for failed SSH logins, decided before any password is checked: keyed by source
 * address and by address + credential id (penalty-rules.ts has the arithmetic and why), with
 * `[server] ban_exempt` ranges left alone.
 *
 * A wrong password that was checked is remembered (as an HMAC under a key that lives only in this
 * process) for its address and credential id. Sent again within a minute, it is refused without a
 * check, and it counts as a failure only a few times (REPEAT_STRIKES): a host behind a NAT that keeps
 * retrying one wrong password costs no password checks and cannot keep a good agent with the right
 * password out. After the minute it is checked again, so a credential that was added or changed
 * meanwhile is noticed.
 */
import { createHmac, randomBytes } from 'node:crypto';
import type { Logger } from '../../ports/logger.ts';
import { AddressList, sourceKey } from './address-list.ts';
import { BanLog, type BanRecord } from './ban-log.ts';
import { CheckSlots } from './check-slots.ts';
import {
  addressPenaltyMs,
  credentialPenaltyMs,
  isAddressBan,
  isCredentialBan,
  rulesOf,
  type PenaltyRules,
  type PenaltySettings,
} from './penalty-rules.ts';

/** What a refused or failed attempt means for the connection. */
export interface Refusal {
  /** This failure was counted (logged at warn); false for a refusal inside a running penalty. */
  counted: boolean;
  /** A ban began with it. */
  banned: boolean;
  /** Until the penalty it caused ends (0: none). */
  retryAfterMs: number;
}

type Attempt =
  | { refused: Refusal }
  /**
   * Check the password, then report the result exactly once: true (undefined back), false (what
   * the failure means), or undefined when the check itself failed (not held against the password).
   */
  | { check: (ok: boolean | undefined) => Refusal | undefined };

/** Checks of one address at once before it has failed, and after. */
export const CHECKS_WHILE_CLEAN = 4;
const CHECKS_AFTER_FAILURE = 1;
/** How long a checked wrong password is refused without a new check. */
export const KNOWN_WRONG_MS = 60_000;
/**
 * Failures one wrong password can count, however often it is sent: with the doubling windows and
 * the short ban, a host retrying one wrong password holds its neighbours off for at most
 * 1 + 2 + 4 + 8 + 30 s in a row, whatever max_failed_login is.
 */
const REPEAT_STRIKES = 5;
const WRONG_KEPT = 8; // wrong passwords remembered per address and credential id
const MAX_TRACKED = 100_000; // ledgers per map: bounds memory against address or id spraying

interface Ledger extends BanRecord {
  strikes: number;
  /** Last failure or refusal: the ledger is forgotten `banMs` after it, once no penalty runs. */
  last: number;
}
interface CredentialLedger extends Ledger {
  passwords: number;
  wrong: Map<string, { strikes: number; checkedAt: number }>;
}
interface AddressLedger extends Ledger {
  ids: Set<string>;
}

const NOT_COUNTED: Refusal = { counted: false, banned: false, retryAfterMs: 0 };
const seconds = (ms: number): number => Math.ceil(ms / 1000);

export class LoginPenalties {
  readonly rules: PenaltyRules;
  private readonly exempt: AddressList;
  private readonly slots = new CheckSlots();
  private readonly addresses = new Map<string, AddressLedger>();
  private readonly credentials = new Map<string, CredentialLedger>();
  private readonly key = randomBytes(32);
  private readonly bans: BanLog;

  constructor(
    settings: PenaltySettings,
    private readonly logger: Logger,
    private readonly now: () => number = Date.now,
  ) {
    this.rules = rulesOf(settings);
    this.bans = new BanLog(logger);
    this.exempt = new AddressList(settings.exempt);
  }

  /** The address as a whole is inside a penalty: its connections may be dropped before the handshake. */
  isPenalised(address: string): boolean {
    const source = sourceKey(address);
    if (this.exempt.has(source)) return false;
    const now = this.now();
    this.bans.sweep(now);
    const ledger = this.addresses.get(source);
    if (!ledger) return false;
    this.bans.check(ledger, source, now);
    return ledger.until > now;
  }

  /**
   * Decides on one password attempt before it is checked. May wait for a check of the same address
   * to end; `open` says whether the connection still wants an answer.
   */
  async attempt(address: string, id: string, password: string, open: () => boolean): Promise<Attempt> {
    const source = sourceKey(address);
    if (this.exempt.has(source)) return { check: (ok) => this.exemptResult(source, id, ok) };
    const digest = createHmac('sha256', this.key).update(`${id}\0${password}`).digest('base64');
    for (;;) {
      const now = this.now();
      this.bans.sweep(now);
      const addr = this.addressLedger(source, now);
      const cred = this.credentialLedger(source, id, now);
      const until = Math.max(addr.until, cred.until);
      if (until > now) {
        this.logger.debug({ address: source, credential_id: id }, 'client login refused: penalty running');
        return { refused: { ...NOT_COUNTED, retryAfterMs: until - now } };
      }
      const known = cred.wrong.get(digest);
      if (known && now - known.checkedAt < KNOWN_WRONG_MS)
        return { refused: this.failed(source, id, known, true, now) };
      const limit = addr.strikes === 0 ? CHECKS_WHILE_CLEAN : CHECKS_AFTER_FAILURE;
      if (this.slots.tryTake(source, limit)) break;
      await this.slots.wait(source);
      if (!open()) return { refused: NOT_COUNTED };
    }
    let reported = false;
    return {
      check: (ok) => {
        if (reported) return undefined;
        reported = true;
        this.slots.release(source);
        const now = this.now();
        if (ok) return void this.succeeded(source, id, now);
        if (ok === undefined) return NOT_COUNTED;
        const cred = this.credentialLedger(source, id, now);
        let entry = cred.wrong.get(digest);
        if (entry) entry.checkedAt = now;
        else {
          entry = { strikes: 0, checkedAt: now };
          cred.passwords += 1;
          cred.wrong.set(digest, entry);
          if (cred.wrong.size > WRONG_KEPT) cred.wrong.delete(cred.wrong.keys().next().value!);
        }
        return this.failed(source, id, entry, false, now);
      },
    };
  }

  private exemptResult(source: string, id: string, ok: boolean | undefined): Refusal | undefined {
    if (ok) return undefined;
    if (ok === false)
      this.logger.warn({ address: source, credential_id: id, exempt: true }, 'client login failed');
    return { counted: true, banned: false, retryAfterMs: 0 };
  }

  /** Attempts from this address waiting for a password check to end (tests). */
  waiting(address: string): number {
    return this.slots.waiting(sourceKey(address));
  }

  /** A failed attempt: counted unless this password has earned its ban already. */
  private failed(
    source: string,
    id: string,
    entry: { strikes: number },
    repeated: boolean,
    now: number,
  ): Refusal {
    const r = this.rules;
    const addr = this.addressLedger(source, now);
    const cred = this.credentialLedger(source, id, now);
    addr.last = cred.last = now;
    if (entry.strikes >= Math.min(r.maxFailures, REPEAT_STRIKES)) {
      this.logger.debug(
        { address: source, credential_id: id },
        'client login refused: the same wrong password again',
      );
      return NOT_COUNTED;
    }
    entry.strikes += 1;
    cred.strikes += 1;
    addr.strikes += 1;
    if (addr.ids.size < r.maxFailures) addr.ids.add(id);
    const credMs = credentialPenaltyMs(r, cred.strikes, cred.passwords);
    const addrMs = addressPenaltyMs(r, addr.strikes, addr.ids.size);
    cred.until = now + credMs;
    addr.until = Math.max(addr.until, now + addrMs);
    const retryAfterMs = Math.max(credMs, addrMs);
    this.logger.warn(
      {
        address: source,
        credential_id: id,
        failures: cred.strikes,
        repeated,
        retry_after_s: seconds(retryAfterMs),
      },
      'client login failed',
    );
    const credBan = isCredentialBan(r, cred.strikes);
    const addrBan = isAddressBan(r, addr.strikes, addr.ids.size);
    if (credBan) {
      this.bans.began(cred, source, id);
      this.logger.warn(
        {
          address: source,
          credential_id: id,
          ban_s: seconds(credMs),
          expires_at: new Date(cred.until).toISOString(),
          failures: cred.strikes,
          passwords_tried: cred.passwords,
        },
        'client login banned: this credential id from this address ([server] max_failed_login, ban_time)',
      );
    }
    if (addrBan) {
      this.bans.began(addr, source, id);
      this.logger.warn(
        {
          address: source,
          credential_id: id,
          ban_s: seconds(addrMs),
          expires_at: new Date(addr.until).toISOString(),
          credential_ids: addr.ids.size,
        },
        'client login banned: every credential id from this address ([server] max_failed_login, ban_time)',
      );
    }
    return { counted: true, banned: credBan || addrBan, retryAfterMs };
  }

  /** The right password: this credential id starts afresh here; the address keeps its count, so a valid credential cannot launder guesses at another. */
  private succeeded(source: string, id: string, now: number): void {
    const cred = this.credentials.get(`${source}\0${id}`);
    if (!cred) return;
    this.bans.check(cred, source, now);
    this.bans.forget(cred);
    Object.assign(cred, { strikes: 0, passwords: 0, until: 0 });
  }

  private addressLedger(source: string, now: number): AddressLedger {
    return this.ledger(this.addresses, source, source, now, () => ({ ids: new Set<string>() }));
  }

  private credentialLedger(source: string, id: string, now: number): CredentialLedger {
    return this.ledger(this.credentials, `${source}\0${id}`, source, now, () => ({
      passwords: 0,
      wrong: new Map(),
    }));
  }

  /** The live ledger under key, made afresh once the old one is stale; most recently used last. */
  private ledger<T extends Ledger>(
    map: Map<string, T>,
    key: string,
    source: string,
    now: number,
    extra: () => Omit<T, keyof Ledger>,
  ): T {
    let ledger = map.get(key);
    if (ledger) this.bans.check(ledger, source, now);
    if (ledger && now - ledger.last > this.rules.banMs && now >= ledger.until) ledger = undefined;
    if (!ledger) ledger = { strikes: 0, last: now, until: 0, banUntil: 0, bannedId: '', ...extra() } as T;
    map.delete(key);
    map.set(key, ledger);
    if (map.size > MAX_TRACKED) {
      const [oldest, old] = map.entries().next().value!;
      map.delete(oldest);
      this.bans.evicted(old, now, MAX_TRACKED);
    }
    return ledger;
  }
}
