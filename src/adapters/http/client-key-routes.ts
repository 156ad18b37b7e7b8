import type Router from '@koa/router';
import type { Context, Next } from 'koa';
import type { ClientKeyBinding } from '../../ports/client-keys.ts';
import { badRequest, forbidden, notFound } from './api-error.ts';
import { callerOf } from './api-auth.ts';
import type { HttpAppDeps } from './http-app-deps.ts';

/** A client id as a hello may carry it (docs/protocol.md). */
const CLIENT_ID = /^[A-Za-z0-9._:@-]{1,128}$/;

const view = (b: ClientKeyBinding) => ({
  client_id: b.clientId,
  key: b.key,
  fingerprint: b.fingerprint,
  bound_at: b.boundAt,
});

/**
 * /api/v1/clients/:id/key: the agent key a client id belongs to (bound at its first registration),
 * for Administrators only. DELETE releases it, for a reinstalled host whose agent has a new key: the
 * next agent that registers the id binds its own key. Releases are audited.
 */
export function clientKeyRoutes(router: Router, d: HttpAppDeps): void {
  const auth = d.auth.require();
  const admin = async (ctx: Context, next: Next): Promise<void> => {
    const c = callerOf(ctx);
    if (!c.admin)
      throw forbidden(`user ${c.username} may not see or release client keys; only Administrators may`);
    await next();
  };
  const idOf = (ctx: Context): string => {
    const id = String(ctx.params.id);
    if (!CLIENT_ID.test(id))
      throw badRequest('id: a client id is 1-128 characters of letters, digits, . _ : @ -');
    return id;
  };
  router.get('/api/v1/clients/:id/key', auth, admin, async (ctx) => {
    const id = idOf(ctx);
    const binding = await d.identity.keyOf(id);
    if (!binding) throw notFound(`id: client ${id} is bound to no agent key`);
    ctx.body = { data: view(binding) };
  });
  router.delete('/api/v1/clients/:id/key', auth, admin, async (ctx) => {
    const id = idOf(ctx);
    const by = callerOf(ctx).username;
    const released = await d.identity.release(id, by);
    if (!released) throw notFound(`id: client ${id} is bound to no agent key; there is nothing to release`);
    d.logger.info({ client_id: id, key: released.fingerprint, by }, 'client key released');
    ctx.status = 204;
  });
}
