import type Router from '@koa/router';
import type { IncomingMessage } from 'node:http';
import { answerOfRejection } from './rejection-status.ts';
import { ApiError, forbidden, notFound } from './api-error.ts';
import { reportIgnoredFields } from './ignored-fields.ts';
import { listUploadsRoute, shown } from './upload-list-route.ts';
import { mayReadUpload } from '../../domain/caller.ts';
import { callerOf } from './api-auth.ts';
import type { HttpAppDeps } from './http-app-deps.ts';
import { KoaUploadForm } from './koa-upload-form.ts';
import { boundaryOf } from './multipart-parser.ts';
import { declaredTooLarge } from './declared-size.ts';
import { RateLimitedWarnings } from './rate-limited-warnings.ts';
import { databaseDown, natsDown } from './health-route.ts';
import type { UploadRejection } from '../../domain/upload-rejection.ts';

/** After an early answer, bytes still arriving are read and dropped (up to this many) so the client sees the answer. */
const DRAIN_CAP = 64 * 1024 * 1024;

export function fileRoutes(router: Router, d: HttpAppDeps): void {
  const unauthenticated = new RateLimitedWarnings(d.logger, 'upload refused: not authenticated');
  router.post(
    '/api/v1/files',
    async (ctx, next) => {
      // Before auth and the body: nothing is staged that the database could not record.
      const db = await d.health.database.check();
      if (!db.ok) {
        // The outage itself is logged once by the health adapter, not once per refused request.
        finishBody(ctx.req);
        throw databaseDown(db.detail);
      }
      const nats = await d.health.nats?.check();
      if (nats && !nats.ok) {
        finishBody(ctx.req);
        throw natsDown(nats.detail);
      }
      await next();
    },
    async (ctx, next) => {
      try {
        await next();
      } catch (e) {
        // Anyone can cause these: logged with the source, rate limited, never audited (no user to name).
        if (e instanceof ApiError && ctx.state.caller === undefined)
          unauthenticated.warn({ address: ctx.ip, status: e.status, reason: e.detail });
        throw e;
      }
    },
    d.auth.require(),
    async (ctx) => {
      const caller = callerOf(ctx);
      const early = refusalBeforeBody(ctx.get('content-type'), ctx.get('content-length') || undefined, d);
      const result = early
        ? await d.acceptUpload.refuse(caller, early)
        : await d.acceptUpload.execute(caller, new KoaUploadForm(ctx.req));
      finishBody(ctx.req);
      reportIgnoredFields(
        ctx,
        d.logger,
        caller.username,
        ('ignoredFields' in result && result.ignoredFields) || [],
      );
      if (!result.ok) {
        const r = result.rejection;
        const { status, code, title } = answerOfRejection(r.kind);
        d.logger.info(
          { user: caller.username, field: r.field, reason: r.kind, status },
          `upload rejected: ${r.detail}`,
        );
        throw new ApiError(
          status,
          code,
          title,
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
    },
  );

  listUploadsRoute(router, d);

  router.get('/api/v1/files/:uuid', d.auth.require(), async (ctx) => {
    const caller = callerOf(ctx);
    const uuid = ctx.params.uuid;
    const found = await d.audit.query({ upload_uuid: uuid, action: 'accepted', limit: 1, offset: 0 });
    const accepted = found.entries[0];
    if (!accepted) throw notFound(`uuid: no accepted upload ${uuid}`);
    if (!mayReadUpload(caller, accepted.username))
      throw forbidden(`uuid: upload ${uuid} belongs to another user`);
    ctx.body = {
      data: shown({
        uuid,
        requested_by: accepted.username,
        created_at: accepted.timestamp,
        request: accepted.request,
        targets: await d.results.targets(uuid),
      }),
    };
  });
}

/** What the headers alone refuse: a body that is not multipart, or one too large by its Content-Length. */
function refusalBeforeBody(
  contentType: string,
  contentLength: string | undefined,
  d: HttpAppDeps,
): UploadRejection | undefined {
  const shown = JSON.stringify(contentType.slice(0, 100));
  if (!/^multipart\/form-data\b/i.test(contentType.trim()))
    return {
      kind: 'malformed',
      field: 'Content-Type',
      detail: `Content-Type ${shown} is not multipart/form-data: send the file in the multipart part named upload`,
    };
  if (!boundaryOf(contentType))
    return {
      kind: 'malformed',
      field: 'Content-Type',
      detail: `Content-Type ${shown} has no valid boundary parameter (1 to 70 characters)`,
    };
  if (declaredTooLarge(contentLength, d.acceptUpload.maxBytes))
    return {
      kind: 'too-large',
      field: 'upload',
      detail: `Content-Length ${contentLength} is more than max_filepush_size (${d.acceptUpload.maxBytes} bytes) and the form's allowance: the file is too large`,
    };
  return undefined;
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
