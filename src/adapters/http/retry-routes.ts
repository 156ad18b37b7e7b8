import type Router from '@koa/router';
import { mayReadUpload } from '../../domain/caller.ts';
import type { RetryRefusal } from '../../domain/retry-push.ts';
import { callerOf } from './api-auth.ts';
import { ApiError, forbidden, notFound, titleOf } from './api-error.ts';
import type { HttpAppDeps } from './http-app-deps.ts';

const STATUS_OF_REFUSAL: Record<RetryRefusal, number> = {
  'not-found': 404,
  forbidden: 403,
  gone: 410,
  'nothing-failed': 409,
};

const refusal = (status: number, code: string, detail: string): ApiError =>
  new ApiError(status, code, status === 410 ? 'Gone' : titleOf(status), detail);

/** `POST /api/v1/files/:uuid/retry`: pushes an upload again to its targets whose outcome was `error`. */
export function retryRoutes(router: Router, d: HttpAppDeps): void {
  const retry = d.retryPush;
  if (!retry) return;
  router.post('/api/v1/files/:uuid/retry', d.auth.require(), async (ctx) => {
    const caller = callerOf(ctx);
    const uuid = ctx.params.uuid;
    const result = await retry.execute(caller, uuid);
    if (!result.ok) {
      if (result.refusal === 'not-found') await explainUnkept(d, caller, uuid);
      const status = STATUS_OF_REFUSAL[result.refusal];
      d.logger.info({ user: caller.username, uuid, status }, `retry refused: ${result.detail}`);
      throw refusal(status, result.refusal, result.detail);
    }
    d.logger.info({ uuid, user: caller.username, targets: result.targets }, 'retry accepted');
    result.distributed.catch((e: unknown) => d.logger.error({ uuid, err: e }, 'retry distribution failed'));
    ctx.body = { data: { uuid, targets: result.targets } };
  });
}

/**
 * An upload the server kept nothing of for retries (made before this version kept uploads): it is
 * gone when the audit log knows it, with the same access rule as reading it.
 */
async function explainUnkept(
  d: HttpAppDeps,
  caller: ReturnType<typeof callerOf>,
  uuid: string,
): Promise<void> {
  const found = await d.audit.query({ upload_uuid: uuid, action: 'accepted', limit: 1, offset: 0 });
  const accepted = found.entries[0];
  if (!accepted) throw notFound(`uuid: no accepted upload ${uuid}`);
  if (!mayReadUpload(caller, accepted.username))
    throw forbidden(`uuid: upload ${uuid} belongs to another user`);
  throw refusal(410, 'gone', `uuid: the staged file of upload ${uuid} is gone; upload it again`);
}
