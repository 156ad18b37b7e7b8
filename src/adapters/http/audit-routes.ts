import type Router from '@koa/router';
import type { ParsedUrlQuery } from 'node:querystring';
import { badRequest } from './api-error.ts';
import { callerOf } from './api-auth.ts';
import type { AuditQuery } from '../../ports/audit-log.ts';
import type { HttpAppDeps } from './http-app-deps.ts';

const MAX_LIMIT = 1000;
const FILTERS = ['application', 'action', 'username', 'client_id', 'upload_uuid'] as const;
const KNOWN = new Set([
  ...FILTERS.map((f) => `filter[${f}]`),
  'filter[since]',
  'filter[until]',
  'page[limit]',
  'page[offset]',
]);

/**
 * GET /api/v1/audit-logs?filter[application]=uploads&filter[action]=…&filter[username]=…&filter[client_id]=…
 * &filter[upload_uuid]=…&filter[since]=ISO&filter[until]=ISO&page[limit]=50&page[offset]=0. Newest first.
 * Administrators see every entry, other users their own.
 */
export function auditRoutes(router: Router, d: HttpAppDeps): void {
  router.get('/api/v1/audit-logs', d.auth.require(), async (ctx) => {
    const caller = callerOf(ctx);
    const f = filterOf(ctx.query);
    if (!caller.admin) f.username = caller.username;
    const { entries, total } = await d.audit.query(f);
    ctx.body = { data: entries, meta: { count: total, limit: f.limit, offset: f.offset } };
  });
}

function filterOf(q: ParsedUrlQuery): AuditQuery {
  const one = (key: string): string | undefined => {
    const v = q[key];
    if (Array.isArray(v)) throw badRequest(`${key} was given more than once`);
    return v === undefined || v === '' ? undefined : v;
  };
  for (const key of Object.keys(q)) {
    if (!KNOWN.has(key))
      throw badRequest(`${key} is not a known query parameter; known: ${[...KNOWN].join(', ')}`);
  }
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
  const f: AuditQuery = {
    limit: int('page[limit]', 50, 1, MAX_LIMIT),
    offset: int('page[offset]', 0, 0, Number.MAX_SAFE_INTEGER),
    since: time('filter[since]'),
    until: time('filter[until]'),
  };
  for (const key of FILTERS) f[key] = one(`filter[${key}]`);
  return f;
}
