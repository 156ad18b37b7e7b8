import type Router from '@koa/router';
import type { JSONSchemaType } from 'ajv';
import { mayUseGroup, type Caller } from '../../domain/caller.ts';
import type { ClientGroup } from '../../domain/client-group.ts';
import { ApiError, badRequest, forbidden, notFound } from './api-error.ts';
import { callerOf } from './api-auth.ts';
import type { HttpAppDeps } from './http-app-deps.ts';
import { compile, jsonBody, validBody } from './json-body.ts';

const patterns = {
  type: 'array',
  items: { type: 'string', minLength: 1, maxLength: 256 },
  maxItems: 100,
  nullable: true,
} as const;

const schema: JSONSchemaType<ClientGroup> = {
  type: 'object',
  properties: {
    id: { type: 'string', pattern: '^[A-Za-z0-9._-]{1,64}$' },
    description: { type: 'string', maxLength: 1000 },
    params: {
      type: 'object',
      properties: { client_id: patterns, name: patterns, os: patterns, hostname: patterns, tag: patterns },
      additionalProperties: false,
      required: [],
    },
    allowed_user_groups: {
      type: 'array',
      items: { type: 'string', minLength: 1, maxLength: 128 },
      maxItems: 100,
    },
  },
  required: ['id', 'params'],
  additionalProperties: false,
};
const validGroup = compile(schema);

const mayManage = (c: Caller): void => {
  if (!c.admin) throw forbidden(`user ${c.username} may not change client groups; only Administrators may`);
};

function groupOf(ctx: Parameters<typeof validBody>[0]): ClientGroup {
  const body = validBody(ctx, validGroup);
  const constrained = Object.values(body.params).some((v) => Array.isArray(v) && v.length > 0);
  if (!constrained)
    throw badRequest('params: give at least one pattern in client_id, name, os, hostname or tag');
  return {
    id: body.id,
    description: body.description ?? '',
    params: body.params,
    allowed_user_groups: body.allowed_user_groups ?? [],
  };
}

/** /api/v1/client-groups: everyone reads the groups allowed for them; Administrators create, update and delete. */
export function clientGroupRoutes(router: Router, d: HttpAppDeps): void {
  const auth = d.auth.require();
  router.get('/api/v1/client-groups', auth, async (ctx) => {
    const caller = callerOf(ctx);
    ctx.body = { data: (await d.groups.list()).filter((g) => mayUseGroup(caller, g)) };
  });
  router.get('/api/v1/client-groups/:id', auth, async (ctx) => {
    const g = await d.groups.get(ctx.params.id);
    if (!g || !mayUseGroup(callerOf(ctx), g)) throw notFound(`id: no client group "${ctx.params.id}"`);
    ctx.body = { data: g };
  });
  router.post('/api/v1/client-groups', auth, jsonBody(), async (ctx) => {
    mayManage(callerOf(ctx));
    const g = groupOf(ctx);
    if (!(await d.groups.create(g)))
      throw new ApiError(409, 'conflict', 'Conflict', `id: client group "${g.id}" exists already`);
    ctx.status = 201;
    ctx.body = { data: g };
  });
  router.put('/api/v1/client-groups/:id', auth, jsonBody(), async (ctx) => {
    mayManage(callerOf(ctx));
    const g = groupOf(ctx);
    if (g.id !== ctx.params.id)
      throw badRequest(`id: the body's id "${g.id}" differs from the path's "${ctx.params.id}"`);
    if (!(await d.groups.update(g))) throw notFound(`id: no client group "${g.id}"`);
    ctx.body = { data: g };
  });
  router.delete('/api/v1/client-groups/:id', auth, async (ctx) => {
    mayManage(callerOf(ctx));
    if (!(await d.groups.delete(ctx.params.id))) throw notFound(`id: no client group "${ctx.params.id}"`);
    ctx.status = 204;
  });
}
