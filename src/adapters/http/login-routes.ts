import type Router from '@koa/router';
import type { Context } from 'koa';
import { ApiError, unauthorized } from './api-error.ts';
import { basicPair, MAX_TOKEN_LIFETIME, type ApiAuth } from './api-auth.ts';
import { bodyCredentials, loginBody } from './login-body.ts';

/**
 * POST /api/v1/login with JSON, a form-urlencoded body or basic auth, and GET /api/v1/login with basic
 * auth (openrport takes all of them); `token-lifetime` (seconds) asks for another lifetime.
 */
export function loginRoutes(router: Router, auth: ApiAuth): void {
  const login = async (ctx: Context): Promise<void> => {
    const header = ctx.get('authorization');
    const basic = /^basic\s+/i.test(header) ? basicPair(header.replace(/^basic\s+/i, '')) : undefined;
    const creds = basic ?? bodyCredentials(ctx);
    const lifetime = lifetimeOf(ctx.query['token-lifetime'], auth.defaultLifetime);
    const caller = await auth.login(creds.username, creds.password, ctx.ip);
    if (!caller) throw unauthorized('wrong username or password');
    ctx.body = { data: { token: await auth.issue(caller.username, lifetime) } };
  };
  router.post('/api/v1/login', loginBody(), login);
  router.get('/api/v1/login', login);
}

function lifetimeOf(raw: string | string[] | undefined, dflt: number): number {
  if (raw === undefined) return dflt;
  const s = Array.isArray(raw) ? raw[0] : raw;
  const n = /^\d+$/.test(s) ? Number(s) : NaN;
  if (!(n > 0 && n <= MAX_TOKEN_LIFETIME)) {
    throw new ApiError(
      400,
      'invalid',
      'Bad Request',
      `token-lifetime must be a number of seconds from 1 to ${MAX_TOKEN_LIFETIME}, got "${s}"`,
    );
  }
  return n;
}
