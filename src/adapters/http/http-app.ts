import Router from '@koa/router';
import Koa from 'koa';
import { auditRoutes } from './audit-routes.ts';
import { auditlogCompatRoutes } from './auditlog-compat-routes.ts';
import { clientAuthRoutes } from './client-auth-routes.ts';
import { clientGroupRoutes } from './client-group-routes.ts';
import { clientKeyRoutes } from './client-key-routes.ts';
import { clientRoutes } from './client-routes.ts';
import { errorDocuments } from './api-error.ts';
import { fileRoutes } from './file-routes.ts';
import { healthRoute } from './health-route.ts';
import type { HttpAppDeps } from './http-app-deps.ts';
import { loginRoutes } from './login-routes.ts';
import { meRoutes } from './me-routes.ts';
import { openapiRoute } from './openapi-route.ts';
import { retryRoutes } from './retry-routes.ts';
import { testPageRoutes } from './test-page.ts';
import { userGroupRoutes } from './user-group-routes.ts';
import { userRoutes } from './user-routes.ts';

/** The Koa app of rportd's API. Every route authenticates before it reads a body. */
export function createHttpApp(d: HttpAppDeps): Koa {
  const app = new Koa();
  app.proxy = false;
  app.silent = true;
  const router = new Router();
  loginRoutes(router, d.auth);
  fileRoutes(router, d);
  retryRoutes(router, d);
  clientRoutes(router, d);
  clientGroupRoutes(router, d);
  clientAuthRoutes(router, d);
  clientKeyRoutes(router, d);
  auditRoutes(router, d);
  auditlogCompatRoutes(router, d);
  userRoutes(router, d);
  userGroupRoutes(router, d);
  meRoutes(router, d);
  testPageRoutes(router, d.enableTestEndpoints);
  openapiRoute(router);
  healthRoute(router, d.health);
  app.use(async (ctx, next) => {
    const started = Date.now();
    await next();
    // The logger masks tokens in the URL (access_token=…) and never sees headers.
    d.logger.debug(
      { method: ctx.method, url: ctx.url, status: ctx.status, ms: Date.now() - started },
      'request',
    );
  });
  app.use(errorDocuments(d.logger));
  app.use(async (ctx, next) => {
    ctx.set('Cache-Control', 'no-store');
    ctx.set('X-Content-Type-Options', 'nosniff');
    await next();
  });
  app.use(router.routes());
  app.use(router.allowedMethods({ throw: false }));
  return app;
}
