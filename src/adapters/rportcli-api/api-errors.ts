import type { ApiErrorItem } from './api-types.ts';

/** The server answered with an error document; detail names the field or setting at fault. */
export class RportApiError extends Error {
  constructor(
    readonly status: number,
    readonly errors: ApiErrorItem[],
  ) {
    super(errors.length > 0 ? errors.map(describe).join('; ') : `the server answered HTTP ${status}`);
    this.name = 'RportApiError';
  }
}

const describe = (e: ApiErrorItem): string => e.detail || e.title || e.code || 'unknown error';

/** No HTTP answer at all: nothing listening, DNS, TLS, or the connection dropped. */
export class ServerUnreachableError extends Error {
  constructor(
    readonly url: string,
    readonly reason: string,
  ) {
    super(`cannot reach the rport server at ${url}: ${reason}`);
    this.name = 'ServerUnreachableError';
  }
}

/** The local file to upload cannot be read. */
export class LocalFileError extends Error {
  constructor(
    readonly path: string,
    reason: string,
  ) {
    super(`${path}: ${reason}`);
    this.name = 'LocalFileError';
  }
}

/** Why fetch failed, in a sentence: undici hides the socket error in `cause`. */
export function networkReason(e: unknown): string {
  let err = e as { message?: string; code?: string; cause?: unknown } | undefined;
  let reason = err?.message ?? String(e);
  for (let depth = 0; err && depth < 5; depth++) {
    if (err.code)
      return err.message && !err.message.includes(err.code)
        ? `${err.code} (${err.message})`
        : (err.message ?? err.code);
    if (err.message) reason = err.message;
    err = err.cause as typeof err;
  }
  return reason;
}

/** Reads an rportd error document, or makes one from the fallback sentence. */
export function errorsOf(body: string, fallback: string): ApiErrorItem[] {
  try {
    const doc = JSON.parse(body) as { errors?: unknown };
    if (Array.isArray(doc.errors) && doc.errors.length > 0) {
      return doc.errors.map((e: Record<string, unknown>) => ({
        code: String(e.code ?? ''),
        title: String(e.title ?? ''),
        detail: String(e.detail ?? ''),
      }));
    }
  } catch {
    // not JSON: use the fallback sentence
  }
  return [
    {
      code: '',
      title: '',
      detail: body.trim() !== '' && body.length < 300 ? `${fallback}: ${body.trim()}` : fallback,
    },
  ];
}
