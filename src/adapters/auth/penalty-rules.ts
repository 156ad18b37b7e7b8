/**
 * The arithmetic of the SSH login penalties (LoginPenalties keeps the ledgers). Modelled on
 * OpenSSH's PerSourcePenalties: each counted failure buys a refusal window that doubles, up to a
 * cap, and no password is checked inside it. Two keys are penalised at once:
 *
 * - the address AND credential id: the window doubles from `stepMs` and, from `maxFailures`
 *   counted failures on, is a ban. A ban lasts `banMs` once `maxFailures` different wrong passwords
 *   were tried (that is guessing), and only `shortCapMs` when fewer were (that is a host with a
 *   wrong password, retrying: it must not lock out good agents that share its NAT and credential);
 * - the address alone, whatever the credential id: the window doubles too but stops at
 *   `shortCapMs`, so an agent with another credential id behind the same NAT waits at most that
 *   long. Only when `maxFailures` credential ids failed from one address (id spraying) does it grow
 *   on to `banMs`.
 *
 * Repeats of one wrong password are recognised without a check (LoginPenalties) and count at most
 * `maxFailures` times, so a misconfigured host earns one short ban, not an endless series.
 */
import type { AuthGuardSettings } from './auth-guard.ts';

/** The SSH login's settings: the API login guard's, plus what only the penalties use. */
export interface PenaltySettings extends AuthGuardSettings {
  /** CIDR ranges never penalised (`[server] ban_exempt`). */
  exempt?: readonly string[];
  /** The longest window short of a ban; 30 s unless a test shortens it. */
  maxShortPenaltyMs?: number;
}

export interface PenaltyRules {
  /** `[server] max_failed_login`: counted failures before a ban. */
  maxFailures: number;
  /** `[server] ban_time`: the longest ban, and how long failures are remembered. */
  banMs: number;
  /** The first window; each further counted failure doubles it. */
  stepMs: number;
  /** The longest window a misconfigured host can cause for others (see above). */
  shortCapMs: number;
}

const SHORT_PENALTY_CAP_MS = 30_000;

export function rulesOf(s: PenaltySettings): PenaltyRules {
  return {
    maxFailures: s.maxFailures,
    banMs: s.banMs,
    stepMs: s.failureDelayMs,
    shortCapMs: Math.min(s.banMs, s.maxShortPenaltyMs ?? SHORT_PENALTY_CAP_MS),
  };
}

const doubled = (r: PenaltyRules, strikes: number): number => r.stepMs * 2 ** Math.min(strikes - 1, 40);

/** Window for one address and credential id after its `strikes`-th counted failure, `passwords` of them different. */
export function credentialPenaltyMs(r: PenaltyRules, strikes: number, passwords: number): number {
  if (strikes < r.maxFailures) return Math.min(doubled(r, strikes), r.shortCapMs);
  return passwords >= r.maxFailures ? r.banMs : r.shortCapMs;
}

export const isCredentialBan = (r: PenaltyRules, strikes: number): boolean => strikes >= r.maxFailures;

/** Window for every credential id from one address after its `strikes`-th counted failure, from `ids` credential ids. */
export function addressPenaltyMs(r: PenaltyRules, strikes: number, ids: number): number {
  const cap = isAddressBan(r, strikes, ids) ? r.banMs : r.shortCapMs;
  return Math.min(doubled(r, strikes), cap);
}

export const isAddressBan = (r: PenaltyRules, strikes: number, ids: number): boolean =>
  ids >= r.maxFailures && strikes >= r.maxFailures;
