import type { Context, Next } from 'koa';
import type { Logger } from '../../ports/logger.ts';
import { LineBudget } from '../log/line-budget.ts';

/** An error answer: `{"errors":[{"code","title","detail"}]}`, detail naming the field at fault. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    readonly title: string,
    readonly detail: string,
  ) {
    super(detail);
    this.name = 'ApiError';
  }
}

const TITLES: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  409: 'Conflict',
  413: 'Payload Too Large',
  415: 'Unsupported Media Type',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  501: 'Not Implemented',
  503: 'Service Unavailable',
};

export const titleOf = (status: number): string => TITLES[status] ?? 'Error';

const errorBody = (status: number, code: string, detail: string, title = titleOf(status)) => ({
  errors: [{ code, title, detail }],
});

export const unauthorized = (detail: string): ApiError =>
  new ApiError(401, 'unauthorized', titleOf(401), detail);
export const forbidden = (detail: string): ApiError => new ApiError(403, 'forbidden', titleOf(403), detail);
export const notFound = (detail: string): ApiError => new ApiError(404, 'not-found', titleOf(404), detail);
export const badRequest = (detail: string, code = 'invalid'): ApiError =>
  new ApiError(400, code, titleOf(400), detail);

/** Turns every failure into the error document; unexpected ones are logged and answered 500 without internals. */
export function errorDocuments(logger: Logger) {
  // Each 429 is logged, but an address that keeps asking gets a line per window, with a count.
  const tooMany = new LineBudget(10_000);
  return async (ctx: Context, next: Next): Promise<void> => {
    try {
      await next();
      if (ctx.status === 404 && ctx.body === undefined) {
        throw notFound(`no such endpoint: ${ctx.method} ${ctx.path}`);
      }
      // The router's own answers to a method a path does not serve come without a body.
      if ((ctx.status === 405 || ctx.status === 501) && ctx.body === undefined) {
        const code = ctx.status === 405 ? 'method-not-allowed' : 'not-implemented';
        const allowed = ctx.response.get('Allow');
        throw new ApiError(
          ctx.status,
          code,
          titleOf(ctx.status),
          `${ctx.method} is not served at ${ctx.path}; allowed: ${allowed || 'none'}`,
        );
      }
    } catch (e) {
      const err = e as { status?: number; expose?: boolean; message?: string };
      if (e instanceof ApiError) {
        ctx.status = e.status;
        ctx.body = errorBody(e.status, e.code, e.detail, e.title);
        if (e.status === 401) ctx.set('WWW-Authenticate', 'Bearer realm="rportd", Basic realm="rportd"');
        const pass = e.status === 429 ? tooMany.take(ctx.ip) : undefined;
        if (pass)
          logger.warn(
            { address: ctx.ip, method: ctx.method, path: ctx.path, code: e.code, detail: e.detail, ...pass },
            'answered 429 Too Many Requests',
          );
      } else if (typeof err.status === 'number' && err.status >= 400 && err.status < 500) {
        // koa-body and koa's own client errors (bad JSON, body too large, ...)
        ctx.status = err.status;
        ctx.body = errorBody(err.status, 'invalid-body', `request body: ${err.message ?? 'not acceptable'}`);
      } else {
        logger.error({ method: ctx.method, path: ctx.path, err: e }, 'request failed');
        ctx.status = 500;
        ctx.body = errorBody(500, 'internal', 'the server failed to handle the request; see the server log');
      }
    }
  };
}
