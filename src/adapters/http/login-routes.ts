import type Router from '@koa/router';
import { ApiError, unauthorized } from './api-error.ts';
import { basicPair, MAX_TOKEN_LIFETIME, type ApiAuth } from './api-auth.ts';
import { compile, jsonBody, validBody } from './json-body.ts';

interface LoginBody {
  username: string;
  password: string;
}

const validLogin = compile<LoginBody>({
  type: 'object',
  properties: {
    username: { type: 'string', minLength: 1, maxLength: 256 },
    password: { type: 'string', minLength: 1, maxLength: 1024 },
  },
  required: ['username', 'password'],
  additionalProperties: false,
});

/** POST /api/v1/login with JSON or basic auth; `token-lifetime` (seconds) asks for another lifetime. */
export function loginRoutes(router: Router, auth: ApiAuth): void {
  router.post('/api/v1/login', jsonBody(), async (ctx) => {
    const header = ctx.get('authorization');
    const basic = /^basic\s+/i.test(header) ? basicPair(header.replace(/^basic\s+/i, '')) : undefined;
    const creds = basic ?? validBody(ctx, validLogin);
    const lifetime = lifetimeOf(ctx.query['token-lifetime'], auth.defaultLifetime);
    const caller = await auth.login(creds.username, creds.password, ctx.ip);
    if (!caller) throw unauthorized('wrong username or password');
    ctx.body = { data: { token: await auth.issue(caller.username, lifetime) } };
  });
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
