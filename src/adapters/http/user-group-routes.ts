import type Router from '@koa/router';
import { ADMIN_GROUP } from '../../domain/caller.ts';
import { badRequest, notFound } from './api-error.ts';
import { callerOf } from './api-auth.ts';
import type { HttpAppDeps } from './http-app-deps.ts';
import { compile, jsonBody, validBody } from './json-body.ts';
import { administratorsOnly, userAdminOf } from './user-admin-access.ts';
import { GROUP_NAME_PATTERN } from './user-routes.ts';

/** openrport's permission names; rportd keeps and shows them (docs/api.md says what grants access). */
export const PERMISSIONS = [
  'commands',
  'scheduler',
  'monitoring',
  'uploads',
  'scripts',
  'tunnels',
  'vault',
  'auditlog',
] as const;

interface UserGroupBody {
  name?: string;
  permissions?: Record<string, boolean>;
}

const validUserGroup = compile<UserGroupBody>({
  type: 'object',
  properties: {
    name: { type: 'string', nullable: true },
    permissions: {
      type: 'object',
      properties: Object.fromEntries(PERMISSIONS.map((p) => [p, { type: 'boolean', nullable: true }])),
      additionalProperties: false,
      required: [],
      nullable: true,
    },
  },
  additionalProperties: false,
} as never);

const nameRe = new RegExp(GROUP_NAME_PATTERN);

/**
 * /api/v1/user-groups, openrport's shapes, for Administrators: list, get, put (creates or updates
 * the group's permissions) and delete (also takes every member out of the group).
 */
export function userGroupRoutes(router: Router, d: HttpAppDeps): void {
  const guard = [d.auth.require(), administratorsOnly('see or change the user groups')];
  router.get('/api/v1/user-groups', ...guard, async (ctx) => {
    ctx.body = { data: await userAdminOf(d).groups.list() };
  });
  router.get('/api/v1/user-groups/:name', ...guard, async (ctx) => {
    const group = await userAdminOf(d).groups.get(ctx.params.name);
    if (!group) throw notFound(`name: no user group "${ctx.params.name}"`);
    ctx.body = { data: group };
  });
  router.put('/api/v1/user-groups/:name', ...guard, jsonBody(), async (ctx) => {
    const { groups } = userAdminOf(d);
    const name = ctx.params.name;
    if (!nameRe.test(name))
      throw badRequest(`name: "${name}" must be 1-128 printable characters without a comma`);
    const body = validBody(ctx, validUserGroup);
    if (body.name !== undefined && body.name !== name)
      throw badRequest(`name: the body's name "${body.name}" differs from the path's "${name}"`);
    const group = { name, permissions: body.permissions ?? {} };
    await groups.put(group);
    d.logger.info({ user_group: name, by: callerOf(ctx).username }, 'user group saved');
    ctx.body = { data: group };
  });
  router.delete('/api/v1/user-groups/:name', ...guard, async (ctx) => {
    const { groups } = userAdminOf(d);
    const name = ctx.params.name;
    if (name === ADMIN_GROUP)
      throw badRequest(`name: ${ADMIN_GROUP} cannot be deleted: it is how rportd knows its administrators`);
    if (!(await groups.delete(name))) throw notFound(`name: no user group "${name}"`);
    d.logger.info({ user_group: name, by: callerOf(ctx).username }, 'user group removed');
    ctx.status = 204;
  });
}
