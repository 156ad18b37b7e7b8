import type Router from '@koa/router';
import { ApiError, titleOf } from './api-error.ts';
import type { HttpAppDeps } from './http-app-deps.ts';

export const HEALTH_PATHS = ['/api/v1/health', '/health'];

/**
 * GET /api/v1/health (and /health, where load balancers look), without auth: 200 while the database
 * (and NATS, with `[cluster] nats_url`) answers, 503 while one does not. The states are the adapters'
 * cached probes, so asking often is cheap.
 */
export function healthRoute(router: Router, h: HttpAppDeps['health']): void {
  for (const path of HEALTH_PATHS)
    router.get(path, async (ctx) => {
      const [state, nats] = await Promise.all([h.database.check(), h.nats?.check()]);
      const ok = state.ok && (nats?.ok ?? true);
      ctx.status = ok ? 200 : 503;
      ctx.body = {
        data: {
          status: ok ? 'ok' : 'degraded',
          database: { kind: h.database.kind, ...state },
          ...(nats && h.nats ? { nats: { kind: h.nats.kind, ...nats } } : {}),
          node_id: h.nodeId,
        },
      };
    });
}

/** The 503 of a request that needs the database while it does not answer. */
export function databaseDown(detail: string | undefined): ApiError {
  return new ApiError(
    503,
    'database-unavailable',
    titleOf(503),
    `[cluster] database_url: the database does not answer${detail ? ` (${detail})` : ''}; ` +
      'nothing was stored: try again once GET /api/v1/health answers 200',
  );
}

/** The 503 of an upload while NATS does not answer: other nodes could not hear of it. */
export function natsDown(detail: string | undefined): ApiError {
  return new ApiError(
    503,
    'nats-unavailable',
    titleOf(503),
    `[cluster] nats_url: NATS does not answer${detail ? ` (${detail})` : ''}; ` +
      'nothing was stored: try again once GET /api/v1/health answers 200',
  );
}
