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

/** No HTTP answer at all: nothing listening, DNS, or the connection dropped. */
export class ServerUnreachableError extends Error {
  constructor(
    readonly url: string,
    readonly reason: string,
    /** Node's code when there is one, e.g. ECONNREFUSED or ECONNRESET. */
    readonly code?: string,
  ) {
    super(`cannot reach the rport server at ${url}: ${reason}`);
    this.name = 'ServerUnreachableError';
  }
}

/**
 * The server answered the TLS handshake with a certificate this client does not trust: it is
 * reachable, so "is it running?" would send the user the wrong way.
 */
export class TlsCertificateError extends Error {
  constructor(
    readonly url: string,
    /** Node's code, e.g. DEPTH_ZERO_SELF_SIGNED_CERT or ERR_TLS_CERT_ALTNAME_INVALID. */
    readonly code: string,
    readonly reason: string,
  ) {
    super(`the TLS certificate of the rport server at ${url} is not trusted: ${reason}`);
    this.name = 'TlsCertificateError';
  }
}

/**
 * Something answered, but the TLS handshake failed before any certificate was checked: typically an
 * https:// URL on a port that speaks plain HTTP (rportd without [api] cert_file).
 */
export class TlsHandshakeError extends Error {
  constructor(
    readonly url: string,
    readonly code: string,
    readonly reason: string,
  ) {
    super(`no TLS handshake with the rport server at ${url}: ${reason}`);
    this.name = 'TlsHandshakeError';
  }
}

/** OpenSSL's verification codes and Node's host name check: all mean "the certificate", not "the network". */
const CERTIFICATE_CODES = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'UNABLE_TO_DECRYPT_CERT_SIGNATURE',
  'UNABLE_TO_DECODE_ISSUER_PUBLIC_KEY',
  'CERT_SIGNATURE_FAILURE',
  'CERT_NOT_YET_VALID',
  'CERT_HAS_EXPIRED',
  'CERT_UNTRUSTED',
  'CERT_REJECTED',
  'INVALID_CA',
  'INVALID_PURPOSE',
  'PATH_LENGTH_EXCEEDED',
  'HOSTNAME_MISMATCH',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

/** A failed connection as the error that says what to fix: the certificate, TLS itself, or no server. */
export function connectionError(
  url: string,
  e: unknown,
): TlsCertificateError | TlsHandshakeError | ServerUnreachableError {
  const code = errorCode(e);
  if (code && CERTIFICATE_CODES.has(code)) return new TlsCertificateError(url, code, networkReason(e));
  if (code && /^(https|wss):/i.test(url) && isHandshakeFailure(code, e))
    return new TlsHandshakeError(url, code, opensslReason(code, networkReason(e)));
  return new ServerUnreachableError(url, networkReason(e), code);
}

/** `EPROTO (wrong version number)` out of OpenSSL's line of routine names and source paths. */
function opensslReason(code: string, reason: string): string {
  const m = /SSL routines:[^:]*:([^:\n]+)/.exec(reason);
  return m ? `${code} (${m[1].trim()})` : reason.split('\n')[0].trim();
}

/** OpenSSL's own failures (EPROTO "wrong version number", ERR_SSL_*): the peer did not speak TLS as expected. */
function isHandshakeFailure(code: string, e: unknown): boolean {
  if (code.startsWith('ERR_SSL_')) return true;
  return code === 'EPROTO' && /SSL routines|wrong version number/i.test(networkReason(e));
}

/** The first `code` in an error's cause chain. */
function errorCode(e: unknown): string | undefined {
  let err = e as { code?: unknown; cause?: unknown } | undefined;
  for (let depth = 0; err && depth < 5; depth++) {
    if (typeof err.code === 'string') return err.code;
    err = err.cause as typeof err;
  }
  return undefined;
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
