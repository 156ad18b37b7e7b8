import type { Context, Middleware } from 'koa';
import { koaBody } from 'koa-body';
import { badRequest, unauthorized } from './api-error.ts';
import { compile, validBody } from './json-body.ts';

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

/** Fields a form-urlencoded login may hold: openrport's, and the lifetime as a field. */
const FORM_FIELDS = new Set(['username', 'password', 'token-lifetime', 'token_lifetime']);

/**
 * JSON or form-urlencoded (openrport takes both), small. A form's `token-lifetime` or
 * `token_lifetime` field counts as the query parameter when the query has none.
 */
export const loginBody = (): Middleware => {
  const parse = koaBody({
    json: true,
    urlencoded: true,
    multipart: false,
    text: false,
    jsonLimit: '16kb',
    formLimit: '16kb',
    jsonStrict: true,
  }) as Middleware;
  return (ctx, next) =>
    parse(ctx, async () => {
      const form = (ctx.request as unknown as { body?: Record<string, unknown> }).body ?? {};
      const lifetime = form['token-lifetime'] ?? form.token_lifetime;
      if (
        ctx.is('application/x-www-form-urlencoded') &&
        lifetime !== undefined &&
        !('token-lifetime' in ctx.query)
      )
        ctx.query = { ...ctx.query, 'token-lifetime': lifetime as string | string[] };
      await next();
    });
};

/** The username and password of a login body; a GET has none, and says basic auth is the way. */
export function bodyCredentials(ctx: Context): LoginBody {
  if (ctx.method !== 'POST')
    throw unauthorized(
      'GET /api/v1/login takes the username and password as basic auth (Authorization: Basic …)',
    );
  if (!ctx.is('application/x-www-form-urlencoded')) return validBody(ctx, validLogin);
  const form = (ctx.request as unknown as { body?: Record<string, unknown> }).body ?? {};
  const one = (key: string): string | undefined => {
    const v = form[key];
    if (Array.isArray(v)) throw badRequest(`${key} was given more than once`);
    return typeof v === 'string' ? v : undefined;
  };
  for (const key of Object.keys(form))
    if (!FORM_FIELDS.has(key)) throw badRequest(`${key} is not a known field of the login form`);
  const username = one('username');
  const password = one('password');
  if (!username) throw badRequest('username is required');
  if (!password) throw badRequest('password is required');
  if (username.length > 256 || password.length > 1024)
    throw badRequest('username (256) or password (1024 characters) is too long');
  return { username, password };
}
