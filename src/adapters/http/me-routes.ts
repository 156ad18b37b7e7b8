import type Router from '@koa/router';
import type { ApiUserChanges } from '../../ports/api-user-admin.ts';
import { ApiError, forbidden, titleOf } from './api-error.ts';
import { callerOf } from './api-auth.ts';
import type { HttpAppDeps } from './http-app-deps.ts';
import { compile, jsonBody, validBody } from './json-body.ts';
import { refusal, userAdminOf } from './user-admin-access.ts';
import { USERNAME_PATTERN } from './user-routes.ts';

interface MeBody {
  username?: string;
  password?: string;
  old_password?: string;
  two_fa_send_to?: string;
}

/** Empty strings are allowed: in openrport's MetPut an empty field means "keep the same". */
const validMe = compile<MeBody>({
  type: 'object',
  properties: {
    username: { type: 'string', pattern: `${USERNAME_PATTERN}|^$`, nullable: true },
    password: { type: 'string', maxLength: 1024, nullable: true },
    old_password: { type: 'string', maxLength: 1024, nullable: true },
    two_fa_send_to: { type: 'string', maxLength: 256, nullable: true },
  },
  additionalProperties: false,
});

/**
 * /api/v1/me: anyone reads who they are; PUT changes one's own password (the old one is required,
 * and a wrong one counts as a failed login) or username. Either change ends the caller's sessions.
 */
export function meRoutes(router: Router, d: HttpAppDeps): void {
  const auth = d.auth.require();
  router.get('/api/v1/me', auth, async (ctx) => {
    const c = callerOf(ctx);
    ctx.body = {
      data: { username: c.username, groups: c.groups, two_fa_send_to: '', group_permissions_enabled: false },
    };
  });
  router.put('/api/v1/me', auth, jsonBody(), async (ctx) => {
    const { users } = userAdminOf(d);
    const c = callerOf(ctx);
    const body = validBody(ctx, validMe);
    if (body.two_fa_send_to)
      throw new ApiError(400, 'invalid', titleOf(400), 'two_fa_send_to: rportd has no two-factor login');
    const changes: ApiUserChanges = {};
    if (body.username && body.username !== c.username) changes.username = body.username;
    if (body.password) {
      if (body.password.length < 8)
        throw new ApiError(400, 'invalid', titleOf(400), 'password must be at least 8 characters');
      if (!body.old_password) throw forbidden('old_password is required to change the password');
      if (!(await d.auth.login(c.username, body.old_password, ctx.ip)))
        throw forbidden('old_password is not the current password');
      changes.password = body.password;
    }
    if (Object.keys(changes).length === 0)
      throw new ApiError(
        400,
        'invalid',
        titleOf(400),
        'nothing to change: give password (with old_password) or username',
      );
    const refused = await users.update(c.username, changes);
    if (refused) throw refusal(refused, changes.username ?? c.username, 'username');
    d.logger.info({ user: c.username, changed: Object.keys(changes) }, 'API user changed their own account');
    ctx.status = 204;
  });
}
