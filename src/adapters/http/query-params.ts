import type { ParsedUrlQuery } from 'node:querystring';
import { badRequest } from './api-error.ts';

/** The largest page a listing route serves. */
export const MAX_PAGE_LIMIT = 1000;

/**
 * Reads a listing route's query (`filter[…]`, `page[limit]`, `page[offset]`): any parameter outside
 * `known` is a 400 naming it and listing the known ones; each getter is a 400 naming its parameter.
 */
export function queryReader(q: ParsedUrlQuery, known: ReadonlySet<string>) {
  for (const key of Object.keys(q)) {
    if (!known.has(key))
      throw badRequest(`${key} is not a known query parameter; known: ${[...known].join(', ')}`);
  }
  /** One value; empty counts as absent, and a repeated parameter is refused. */
  const one = (key: string): string | undefined => {
    const v = q[key];
    if (Array.isArray(v)) throw badRequest(`${key} was given more than once`);
    return v === undefined || v === '' ? undefined : v;
  };
  const int = (key: string, dflt: number, min: number, max: number): number => {
    const v = one(key);
    if (v === undefined) return dflt;
    const n = /^\d+$/.test(v) ? Number(v) : NaN;
    if (!(n >= min && n <= max))
      throw badRequest(`${key} must be a whole number from ${min} to ${max}, got "${v}"`);
    return n;
  };
  const time = (key: string): Date | undefined => {
    const v = one(key);
    if (v === undefined) return undefined;
    const t = new Date(v);
    if (Number.isNaN(t.getTime()))
      throw badRequest(`${key} must be an ISO 8601 time, e.g. 2026-01-31T12:00:00Z, got "${v}"`);
    return t;
  };
  /** `page[limit]` (default 50) and `page[offset]` (default 0). */
  const page = () => ({
    limit: int('page[limit]', 50, 1, MAX_PAGE_LIMIT),
    offset: int('page[offset]', 0, 0, Number.MAX_SAFE_INTEGER),
  });
  return { one, time, page };
}
