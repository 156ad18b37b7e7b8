import type Router from '@koa/router';
import type { Context, Next } from 'koa';
import { ApiError, forbidden, notFound } from './api-error.ts';
import { callerOf } from './api-auth.ts';
import type { HttpAppDeps } from './http-app-deps.ts';
import { compile, jsonBody, validBody } from './json-body.ts';

interface NewCredential {
  id: string;
  password: string;
}

/** A credential id never holds ':' (rport.conf's `auth = "id:password"` splits at the first one). */
const CREDENTIAL_ID = '^[A-Za-z0-9._@-]{1,128}$';
const MIN_CLIENT_PASSWORD = 12;

const validCredential = compile<NewCredential>({
  type: 'object',
  properties: {
    id: { type: 'string', pattern: CREDENTIAL_ID },
    password: { type: 'string', minLength: MIN_CLIENT_PASSWORD, maxLength: 1024 },
  },
  required: ['id', 'password'],
  additionalProperties: false,
});

/**
 * /api/v1/clients-auth: the credentials agents log in with, for Administrators only. Editable when
 * they live in the database (rportd.conf sets neither `[server] auth` nor `auth_file`); otherwise
 * the config file is the one place to change them, and a change through the API is refused (409).
 */
export function clientAuthRoutes(router: Router, d: HttpAppDeps): void {
  const auth = d.auth.require();
  const admin = async (ctx: Context, next: Next): Promise<void> => {
    const c = callerOf(ctx);
    if (!c.admin)
      throw forbidden(`user ${c.username} may not see or change client credentials; only Administrators may`);
    await next();
  };
  const editor = () => {
    if (d.clientAuth) return d.clientAuth;
    throw new ApiError(
      409,
      'credentials-from-config',
      'Conflict',
      'client credentials come from rportd.conf ([server] auth or auth_file): change them there; the API edits only credentials kept in the database',
    );
  };
  router.get('/api/v1/clients-auth', auth, admin, async (ctx) => {
    const ids = d.clientAuth ? await d.clientAuth.list() : undefined;
    ctx.body = {
      data: (ids ?? []).map((id) => ({ id })),
      meta: { source: d.clientAuth ? 'database' : 'rportd.conf' },
    };
  });
  router.post('/api/v1/clients-auth', auth, admin, jsonBody(), async (ctx) => {
    const body = validBody(ctx, validCredential);
    if (!(await editor().add(body.id, body.password)))
      throw new ApiError(409, 'conflict', 'Conflict', `id: client credential "${body.id}" exists already`);
    d.logger.info({ credential_id: body.id, by: callerOf(ctx).username }, 'client credential added');
    ctx.status = 201;
    ctx.body = { data: { id: body.id } };
  });
  router.delete('/api/v1/clients-auth/:id', auth, admin, async (ctx) => {
    if (!(await editor().remove(ctx.params.id)))
      throw notFound(`id: no client credential "${ctx.params.id}"`);
    d.logger.info({ credential_id: ctx.params.id, by: callerOf(ctx).username }, 'client credential removed');
    ctx.status = 204;
  });
}
