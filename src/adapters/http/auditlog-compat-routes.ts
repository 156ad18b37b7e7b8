import type Router from '@koa/router';
import type { ParsedUrlQuery } from 'node:querystring';
import type { Caller } from '../../domain/caller.ts';
import type { AuditQuery, StoredAuditEntry } from '../../ports/audit-log.ts';
import { badRequest, forbidden } from './api-error.ts';
import { callerOf } from './api-auth.ts';
import type { HttpAppDeps } from './http-app-deps.ts';

const DEFAULT_LIMIT = 10;
const MAX_LIMIT = 100;
/** openrport's filter field -> ours. */
const FIELDS: Record<string, keyof AuditQuery> = {
  username: 'username',
  application: 'application',
  action: 'action',
  affected_id: 'upload_uuid',
  client_id: 'client_id',
};
/** openrport's fields that rportd does not record. */
const UNRECORDED = new Set(['remote_ip', 'client_hostname']);
const TIME_OPS = new Set(['gt', 'gte', 'since', 'lt', 'lte', 'until']);

/** openrport's AuditLog entry: strings throughout, request as a JSON blob. */
interface CompatEntry {
  timestamp: string;
  username: string;
  remote_ip: string;
  application: string;
  action: string;
  affected_id: string;
  client_id: string;
  client_hostname: string;
  request: string;
  response: string;
}

/**
 * GET /api/v1/auditlog: openrport's audit log shape over the same entries as /api/v1/audit-logs,
 * newest first; `filter[<field>]`, `filter[timestamp][gt|lt|since|until]`, `page[limit]` (10, at most
 * 100) and `page[offset]`. Only Administrators filter by username; others see their own entries.
 */
export function auditlogCompatRoutes(router: Router, d: HttpAppDeps): void {
  router.get('/api/v1/auditlog', d.auth.require(), async (ctx) => {
    const caller = callerOf(ctx);
    const q = queryOf(ctx.query, caller);
    const { entries, total } = await d.audit.query(q);
    const hostnames = new Map<string, Promise<string>>();
    const hostnameOf = (id: string): Promise<string> => {
      let h = hostnames.get(id);
      if (!h) hostnames.set(id, (h = d.clients.get(id).then((c) => c?.hostname ?? '')));
      return h;
    };
    const data = await Promise.all(entries.map((e) => compatOf(e, hostnameOf)));
    ctx.body = { data, meta: { count: total } };
  });
}

async function compatOf(
  e: StoredAuditEntry,
  hostnameOf: (id: string) => Promise<string>,
): Promise<CompatEntry> {
  return {
    timestamp: e.timestamp,
    username: e.username,
    remote_ip: '',
    application: e.application,
    action: e.action,
    affected_id: e.upload_uuid ?? '',
    client_id: e.client_id ?? '',
    client_hostname: e.client_id ? await hostnameOf(e.client_id) : '',
    request: JSON.stringify(e.request),
    response: '',
  };
}

function queryOf(query: ParsedUrlQuery, caller: Caller): AuditQuery {
  const q: AuditQuery = { limit: DEFAULT_LIMIT, offset: 0 };
  for (const [key, raw] of Object.entries(query)) {
    if (Array.isArray(raw)) throw badRequest(`${key} was given more than once`);
    const v = raw ?? '';
    const field = /^filter\[([a-z_]+)\]$/.exec(key)?.[1];
    const timeOp = /^filter\[timestamp\]\[([a-z]+)\]$/.exec(key)?.[1];
    if (key === 'sort') {
      if (v !== '-timestamp' && v !== '')
        throw badRequest(`sort: rportd lists the audit log newest first only (sort=-timestamp), got "${v}"`);
    } else if (key === 'page[limit]') q.limit = whole(key, v, 1, MAX_LIMIT);
    else if (key === 'page[offset]') q.offset = whole(key, v, 0, Number.MAX_SAFE_INTEGER);
    else if (timeOp !== undefined) timeFilter(q, key, timeOp, v);
    else if (field !== undefined && field in FIELDS) {
      if (v.includes('*'))
        throw badRequest(`${key}: rportd matches the whole value; wildcards (*) are not supported`);
      if (field === 'username' && !caller.admin)
        throw forbidden(`${key}: only Administrators may filter by username`);
      (q as unknown as Record<string, string>)[FIELDS[field]] = v;
    } else if (field !== undefined && UNRECORDED.has(field))
      throw badRequest(`${key}: rportd does not record ${field}`);
    else
      throw badRequest(
        `${key} is not a known query parameter; known: sort, page[limit], page[offset], filter[timestamp][gt|lt|since|until], ${Object.keys(
          FIELDS,
        )
          .map((f) => `filter[${f}]`)
          .join(', ')}`,
      );
  }
  if (!caller.admin) q.username = caller.username;
  return q;
}

function whole(key: string, v: string, min: number, max: number): number {
  const n = /^\d+$/.test(v) ? Number(v) : NaN;
  if (!(n >= min && n <= max))
    throw badRequest(`${key} must be a whole number from ${min} to ${max}, got "${v}"`);
  return n;
}

/** gt/lt become our inclusive since / exclusive until, a millisecond on where needed. */
function timeFilter(q: AuditQuery, key: string, op: string, v: string): void {
  if (!TIME_OPS.has(op))
    throw badRequest(`${key}: the timestamp filter takes gt, gte, since, lt, lte or until`);
  const t = new Date(v);
  if (Number.isNaN(t.getTime()))
    throw badRequest(
      `${key} must be a date or an ISO 8601 time, e.g. 2026-01-31 or 2026-01-31T12:00:00Z, got "${v}"`,
    );
  const later = new Date(t.getTime() + 1);
  if (op === 'gt') q.since = later;
  else if (op === 'gte' || op === 'since') q.since = t;
  else if (op === 'lte') q.until = later;
  else q.until = t;
}
