import type Router from '@koa/router';
import type { ParsedUrlQuery } from 'node:querystring';
import { mayReadUpload } from '../../domain/caller.ts';
import type { ListedUpload, TargetStatus, UploadQuery } from '../../ports/result-store.ts';
import { callerOf } from './api-auth.ts';
import { badRequest } from './api-error.ts';
import type { HttpAppDeps } from './http-app-deps.ts';
import { queryReader } from './query-params.ts';

const STATUSES: TargetStatus[] = ['pending', 'success', 'ignored', 'error'];
const SORTS = ['created_at', '-created_at'];
const KNOWN = new Set([
  'filter[client_id]',
  'filter[username]',
  'filter[status]',
  'filter[since]',
  'filter[until]',
  'sort',
  'page[limit]',
  'page[offset]',
]);

/**
 * GET /api/v1/files?filter[client_id]=…&filter[username]=…&filter[status]=pending|success|ignored|error
 * &filter[since]=ISO&filter[until]=ISO&sort=-created_at&page[limit]=50&page[offset]=0: the accepted
 * uploads, newest first unless sorted otherwise. Who sees what follows GET /api/v1/files/:uuid
 * (mayReadUpload): administrators every upload, other users their own.
 */
export function listUploadsRoute(router: Router, d: HttpAppDeps): void {
  router.get('/api/v1/files', d.auth.require(), async (ctx) => {
    const caller = callerOf(ctx);
    const q = uploadQueryOf(ctx.query);
    // The same narrowing as the audit log: a non-admin's filter on user is always their own name.
    if (!caller.admin) q.username = caller.username;
    const { uploads, total } = await d.results.listUploads(q);
    ctx.body = {
      data: uploads.filter((u) => mayReadUpload(caller, u.requested_by)).map(shown),
      meta: { count: total, limit: q.limit, offset: q.offset },
    };
  });
}

/** The same shape as GET /api/v1/files/:uuid. */
export function shown(u: ListedUpload): Record<string, unknown> {
  const { mode, ...request } = u.request;
  return {
    uuid: u.uuid,
    requested_by: u.requested_by,
    created_at: u.created_at,
    ...request,
    ...(typeof mode === 'number' ? { mode: `0${mode.toString(8)}` } : {}),
    targets: u.targets,
  };
}

export function uploadQueryOf(q: ParsedUrlQuery): UploadQuery {
  const { one, time, page } = queryReader(q, KNOWN);
  const status = one('filter[status]');
  if (status !== undefined && !STATUSES.includes(status as TargetStatus))
    throw badRequest(`filter[status] must be one of ${STATUSES.join(', ')}, got "${status}"`);
  const sort = one('sort') ?? '-created_at';
  if (!SORTS.includes(sort)) throw badRequest(`sort must be created_at or -created_at, got "${sort}"`);
  return {
    username: one('filter[username]'),
    client_id: one('filter[client_id]'),
    status: status as TargetStatus | undefined,
    since: time('filter[since]'),
    until: time('filter[until]'),
    order: sort === 'created_at' ? 'asc' : 'desc',
    ...page(),
  };
}
