import type Router from '@koa/router';
import { ApiError, titleOf } from './api-error.ts';
import type { HttpAppDeps } from './http-app-deps.ts';

export const HEALTH_PATHS = ['/api/v1/health', '/health'];

/**
 * GET /api/v1/health (and /health, where load balancers look), without auth: 200 while the database
 * answers, 503 while it does not. The state is the adapter's cached probe, so asking often is cheap.
 */
export function healthRoute(router: Router, h: HttpAppDeps['health']): void {
  for (const path of HEALTH_PATHS)
    router.get(path, async (ctx) => {
      const state = await h.database.check();
      ctx.status = state.ok ? 200 : 503;
      ctx.body = {
        data: {
          status: state.ok ? 'ok' : 'degraded',
          database: { kind: h.database.kind, ...state },
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
