import type Router from '@koa/router';
import type { ParsedUrlQuery } from 'node:querystring';
import { callerOf } from './api-auth.ts';
import type { AuditQuery } from '../../ports/audit-log.ts';
import type { HttpAppDeps } from './http-app-deps.ts';
import { queryReader } from './query-params.ts';

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
  const { one, time, page } = queryReader(q, KNOWN);
  const f: AuditQuery = {
    ...page(),
    since: time('filter[since]'),
    until: time('filter[until]'),
  };
  for (const key of FILTERS) f[key] = one(`filter[${key}]`);
  return f;
}
