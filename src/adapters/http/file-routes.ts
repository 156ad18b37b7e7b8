import type Router from '@koa/router';
import type { IncomingMessage } from 'node:http';
import { STATUS_OF_REJECTION } from './rejection-status.ts';
import { ApiError, forbidden, notFound, titleOf } from './api-error.ts';
import { mayReadUpload } from '../../domain/caller.ts';
import { callerOf } from './api-auth.ts';
import type { HttpAppDeps } from './http-app-deps.ts';
import { KoaUploadForm } from './koa-upload-form.ts';
import { boundaryOf } from './multipart-parser.ts';

/** After an early answer, bytes still arriving are read and dropped (up to this many) so the client sees the answer. */
const DRAIN_CAP = 64 * 1024 * 1024;

export function fileRoutes(router: Router, d: HttpAppDeps): void {
  router.post('/api/v1/files', d.auth.require(), async (ctx) => {
    const caller = callerOf(ctx);
    if (!boundaryOf(ctx.get('content-type'))) {
      finishBody(ctx.req);
      throw new ApiError(
        400,
        'malformed',
        titleOf(400),
        'upload: the request must be multipart/form-data with the file in the part named upload',
      );
    }
    const result = await d.acceptUpload.execute(caller, new KoaUploadForm(ctx.req));
    finishBody(ctx.req);
    if (!result.ok) {
      const r = result.rejection;
      const status = STATUS_OF_REJECTION[r.kind];
      d.logger.info(
        { user: caller.username, field: r.field, reason: r.kind, status },
        `upload rejected: ${r.detail}`,
      );
      throw new ApiError(
        status,
        r.kind,
        titleOf(status),
        r.detail.includes(r.field) ? r.detail : `${r.field}: ${r.detail}`,
      );
    }
    const u = result.upload;
    d.logger.info(
      { uuid: u.staged.uuid, user: caller.username, size: u.staged.size, targets: u.targets.length },
      'upload accepted',
    );
    result.distributed.catch((e: unknown) =>
      d.logger.error({ uuid: u.staged.uuid, err: e }, 'distribution failed'),
    );
    ctx.body = { data: { uuid: u.staged.uuid, filepath: u.destination, size: u.staged.size } };
  });

  router.get('/api/v1/files/:uuid', d.auth.require(), async (ctx) => {
    const caller = callerOf(ctx);
    const uuid = ctx.params.uuid;
    const found = await d.audit.query({ upload_uuid: uuid, action: 'accepted', limit: 1, offset: 0 });
    const accepted = found.entries[0];
    if (!accepted) throw notFound(`uuid: no accepted upload ${uuid}`);
    if (!mayReadUpload(caller, accepted.username))
      throw forbidden(`uuid: upload ${uuid} belongs to another user`);
    const { mode, ...request } = accepted.request;
    ctx.body = {
      data: {
        uuid,
        requested_by: accepted.username,
        created_at: accepted.timestamp,
        ...request,
        ...(typeof mode === 'number' ? { mode: `0${mode.toString(8)}` } : {}),
        targets: await d.results.targets(uuid),
      },
    };
  });
}

/**
 * Reads and drops the rest of a body we no longer need. The connection is not marked `close`:
 * Node would then close it as soon as the answer is written, and the client's next body bytes
 * would meet a reset that can discard the answer (413, 400) before the client reads it.
 */
function finishBody(req: IncomingMessage): void {
  if (req.complete || req.destroyed) return;
  let seen = 0;
  req.on('data', (c: Buffer) => {
    seen += c.length;
    if (seen > DRAIN_CAP) req.destroy();
  });
  req.on('error', () => undefined);
  req.resume();
}
