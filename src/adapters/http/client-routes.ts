import type Router from '@koa/router';
import { mayAccessClient } from '../../domain/caller.ts';
import type { ClientInfo } from '../../domain/client.ts';
import { callerOf } from './api-auth.ts';
import type { HttpAppDeps } from './http-app-deps.ts';

const view = (c: ClientInfo) => ({
  id: c.id,
  name: c.name,
  hostname: c.hostname,
  os: c.os,
  tags: c.tags,
  version: c.version,
  connected: c.connected,
  file_reception_enabled: c.fileReception.enabled,
  file_reception: c.fileReception,
});

/** GET /api/v1/clients: known clients the caller may reach. */
export function clientRoutes(router: Router, d: HttpAppDeps): void {
  router.get('/api/v1/clients', d.auth.require(), async (ctx) => {
    const caller = callerOf(ctx);
    const groups = await d.groups.list();
    const clients = (await d.clients.list()).filter((c) => mayAccessClient(caller, c, groups));
    ctx.body = { data: clients.map(view) };
  });
}
