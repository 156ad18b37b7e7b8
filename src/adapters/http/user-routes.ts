import type Router from '@koa/router';
import type { Context } from 'koa';
import type { ApiUserChanges } from '../../ports/api-user-admin.ts';
import { badRequest } from './api-error.ts';
import { callerOf } from './api-auth.ts';
import type { HttpAppDeps } from './http-app-deps.ts';
import { compile, jsonBody, validBody } from './json-body.ts';
import { administratorsOnly, refusal, userAdminOf } from './user-admin-access.ts';

/** openrport's UserPost; the 2FA and expiry fields are taken only when they ask for nothing. */
interface UserBody {
  username?: string;
  password?: string;
  groups?: string[];
  password_expired?: boolean;
  two_fa_send_to?: string;
}

export const USERNAME_PATTERN = '^[A-Za-z0-9._@-]{1,64}$';
/** Printable, no comma (a group list is written comma-separated on the command line). */
export const GROUP_NAME_PATTERN = '^[^\\u0000-\\u001f,]{1,128}$';
const PASSWORD = { type: 'string', minLength: 8, maxLength: 1024 } as const;

const validUser = compile<UserBody>({
  type: 'object',
  properties: {
    username: { type: 'string', pattern: USERNAME_PATTERN, nullable: true },
    password: { ...PASSWORD, nullable: true },
    groups: {
      type: 'array',
      items: { type: 'string', pattern: GROUP_NAME_PATTERN },
      maxItems: 100,
      nullable: true,
    },
    password_expired: { type: 'boolean', nullable: true },
    two_fa_send_to: { type: 'string', maxLength: 256, nullable: true },
  },
  additionalProperties: false,
});

function userBody(ctx: Context): UserBody {
  const body = validBody(ctx, validUser);
  if (body.password_expired)
    throw badRequest('password_expired: rportd does not force a new password at the next login');
  if (body.two_fa_send_to)
    throw badRequest('two_fa_send_to: rportd has no two-factor login; leave it out or empty');
  return body;
}

/**
 * /api/v1/users, openrport's shapes, for Administrators: list, create (201), update (204, the keys
 * given only) and delete (204). A user's id is their username.
 */
export function userRoutes(router: Router, d: HttpAppDeps): void {
  const guard = [d.auth.require(), administratorsOnly('see or change the API users')];
  router.get('/api/v1/users', ...guard, async (ctx) => {
    ctx.body = { data: await userAdminOf(d).users.list() };
  });
  router.post('/api/v1/users', ...guard, jsonBody(), async (ctx) => {
    const { users } = userAdminOf(d);
    const body = userBody(ctx);
    if (!body.username) throw badRequest('username is required');
    if (!body.password) throw badRequest('password is required');
    const refused = await users.create(body.username, body.password, [...new Set(body.groups ?? [])]);
    if (refused) throw refusal(refused, body.username, 'username');
    d.logger.info(
      { user: body.username, groups: body.groups ?? [], by: callerOf(ctx).username },
      'API user added',
    );
    // No body, as openrport's 201; a null body first, or Koa would send the text "Created".
    ctx.body = null;
    ctx.status = 201;
  });
  router.put('/api/v1/users/:user_id', ...guard, jsonBody(), async (ctx) => {
    const { users } = userAdminOf(d);
    const body = userBody(ctx);
    const changes: ApiUserChanges = {};
    // Empty means "keep", as in openrport's UserPost.
    if (body.username) changes.username = body.username;
    if (body.password) changes.password = body.password;
    if (body.groups) changes.groups = [...new Set(body.groups)];
    const id = ctx.params.user_id;
    const refused = await users.update(id, changes);
    if (refused) throw refusal(refused, refused === 'exists' ? changes.username! : id);
    d.logger.info(
      { user: id, changed: Object.keys(changes), by: callerOf(ctx).username },
      'API user changed',
    );
    ctx.status = 204;
  });
  router.delete('/api/v1/users/:user_id', ...guard, async (ctx) => {
    const id = ctx.params.user_id;
    const refused = await userAdminOf(d).users.delete(id);
    if (refused) throw refusal(refused, id);
    d.logger.info({ user: id, by: callerOf(ctx).username }, 'API user removed');
    ctx.status = 204;
  });
}
