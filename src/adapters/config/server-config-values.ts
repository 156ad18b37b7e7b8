/** Readers for single rportd.conf values; each throws ConfigError naming `[section] key`. */
import { parseCidr } from '../auth/address-list.ts';

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

export type Table = Record<string, unknown>;

const shown = (v: unknown): string =>
  typeof v === 'string' ? JSON.stringify(v) : typeof v === 'object' ? JSON.stringify(v) : String(v);

export const fail = (section: string, key: string, problem: string): never => {
  throw new ConfigError(`[${section}] ${key}: ${problem}`);
};

export function str(t: Table, section: string, key: string, dflt: string): string;
export function str(t: Table, section: string, key: string, dflt?: string): string | undefined;
export function str(t: Table, section: string, key: string, dflt?: string): string | undefined {
  const v = t[key];
  if (v === undefined) return dflt;
  if (typeof v !== 'string') return fail(section, key, `must be a string, got ${shown(v)}`);
  return v;
}

/** A positive integer (TOML integer, or a string of digits), at most max. */
export function positiveInt(
  t: Table,
  section: string,
  key: string,
  dflt: number,
  max = Number.MAX_SAFE_INTEGER,
): number {
  const v = t[key];
  if (v === undefined) return dflt;
  const n =
    typeof v === 'number' || typeof v === 'bigint'
      ? Number(v)
      : typeof v === 'string' && /^\d+$/.test(v.trim())
        ? Number(v)
        : NaN;
  if (!Number.isSafeInteger(n) || n <= 0)
    return fail(section, key, `must be a positive integer, got ${shown(v)}`);
  if (n > max) return fail(section, key, `must be at most ${max}, got ${shown(v)}`);
  return n;
}

/** A whole number from 0 up (TOML integer, or a string of digits), at most max; 0 usually means "off". */
export function nonNegativeInt(t: Table, section: string, key: string, dflt: number, max: number): number {
  const v = t[key];
  if (v === undefined) return dflt;
  const n =
    typeof v === 'number' || typeof v === 'bigint'
      ? Number(v)
      : typeof v === 'string' && /^\d+$/.test(v.trim())
        ? Number(v)
        : NaN;
  if (!Number.isSafeInteger(n) || n < 0)
    return fail(section, key, `must be a whole number from 0 up, got ${shown(v)}`);
  if (n > max) return fail(section, key, `must be at most ${max}, got ${shown(v)}`);
  return n;
}

export function bool(t: Table, section: string, key: string, dflt: boolean): boolean {
  const v = t[key];
  if (v === undefined) return dflt;
  if (typeof v === 'boolean') return v;
  if (v === 'true' || v === 'false') return v === 'true';
  return fail(section, key, `must be true or false, got ${shown(v)}`);
}

export function oneOf<T extends string>(
  t: Table,
  section: string,
  key: string,
  allowed: readonly T[],
  dflt: T,
): T {
  const v = t[key];
  if (v === undefined) return dflt;
  if (typeof v === 'string' && (allowed as readonly string[]).includes(v.toLowerCase()))
    return v.toLowerCase() as T;
  return fail(section, key, `must be one of ${allowed.join(', ')}, got ${shown(v)}`);
}

/** "host:port", "[::1]:port" or ":port" (all interfaces); port 0 picks a free port. */
export function address(t: Table, section: string, key: string, dflt: string): string {
  const v = str(t, section, key, dflt);
  parseAddress(v, `[${section}] ${key}`);
  return v;
}

export function parseAddress(value: string, name: string): { host: string; port: number } {
  const m = /^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]*):(\d{1,5})$/.exec(value);
  const port = m ? Number(m[2]) : NaN;
  if (!m || port > 65535)
    throw new ConfigError(`${name}: must be "host:port", e.g. "127.0.0.1:3000", got ${shown(value)}`);
  return { host: m[1] === '' ? '0.0.0.0' : m[1].replace(/^\[|\]$/g, ''), port };
}

/** "id:password" with both parts non-empty; the password itself never appears in the error. */
export function credentialPair(
  t: Table,
  section: string,
  key: string,
  what: string,
): { id: string; password: string } | undefined {
  const v = str(t, section, key);
  if (v === undefined || v === '') return undefined;
  const i = v.indexOf(':');
  if (i <= 0 || i === v.length - 1)
    return fail(section, key, `must be "${what}:password" with both parts non-empty`);
  return { id: v.slice(0, i), password: v.slice(i + 1) };
}

/** A list of CIDR ranges, e.g. ["10.0.0.0/8", "fd00::/8"]; a bare address is a range of one. */
export function cidrList(t: Table, section: string, key: string): string[] {
  const v = t[key];
  if (v === undefined) return [];
  const example = 'e.g. ["10.0.0.0/8", "fd00::/8"]';
  if (!Array.isArray(v))
    return fail(section, key, `must be a list of CIDR ranges, ${example}, got ${shown(v)}`);
  return v.map((item: unknown) =>
    typeof item === 'string' && parseCidr(item)
      ? item.trim()
      : fail(section, key, `${shown(item)} is not a CIDR range; write them as ${example}`),
  );
}

export function table(doc: Table, section: string): Table {
  const v = doc[section];
  if (v === undefined) return {};
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return fail(section, '', `must be a table`);
  return v as Table;
}

export function rejectUnknown(t: Table, section: string, known: readonly string[]): void {
  for (const key of Object.keys(t)) {
    if (!known.includes(key)) fail(section, key, `unknown key; known keys are ${known.join(', ')}`);
  }
}
