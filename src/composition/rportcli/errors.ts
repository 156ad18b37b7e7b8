import {
  LocalFileError,
  RportApiError,
  ServerUnreachableError,
  TlsCertificateError,
  TlsHandshakeError,
} from '../../adapters/rportcli-api/api-errors.ts';

/**
 * Exit codes (docs/cli.md, "Exit codes"): 0 all well; 1 a target failed, timed out, or ignored the
 * push under --fail-on-ignored; 2 the command itself failed; 3 `status`: targets still pending.
 */
export const EXIT_OK = 0;
export const EXIT_TARGET_FAILED = 1;
export const EXIT_ERROR = 2;
export const EXIT_PENDING = 3;

/** A mistake the user can fix, already worded for them. */
export class CliError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CliError';
  }
}

export interface ErrorContext {
  url: string;
  urlSource: string;
  credentialSource: string;
}

const NO_CREDENTIALS =
  'run `rportcli login`, or set RPORT_API_TOKEN, or RPORT_API_USER and RPORT_API_PASSWORD';

/** One or two lines saying what went wrong and what to change. */
export function explain(e: unknown, ctx: ErrorContext | undefined): string {
  if (e instanceof CliError || e instanceof LocalFileError) return e.message;
  if (e instanceof TlsCertificateError) return explainTls(e, ctx);
  const source = ctx ? ` (URL from ${ctx.urlSource})` : '';
  if (e instanceof TlsHandshakeError) return `${e.message}${source}\n${NOT_TLS_HINT}`;
  if (e instanceof ServerUnreachableError) {
    // A TLS port hangs up on a plain-HTTP request without a word: that is not "rportd is down".
    if (e.code === 'ECONNRESET' && /^(http|ws):/i.test(e.url))
      return `${e.message}${source}\n${HUNG_UP_HINT}`;
    return `${e.message}${source}\nIs rportd running? Point rportcli at it with --url or the RPORT_API_URL environment variable.`;
  }
  if (e instanceof RportApiError) {
    const details = e.errors.map((x) => x.detail || x.title || x.code).filter((x) => x !== '');
    const what = details.length > 0 ? details.join('\n  ') : `HTTP ${e.status}`;
    if (e.status === 401) {
      const hint =
        ctx?.credentialSource === 'none'
          ? `no credentials: ${NO_CREDENTIALS}`
          : `check the credentials from ${ctx?.credentialSource ?? 'the command line'}, or ${NO_CREDENTIALS}`;
      return `the server refused the credentials (HTTP 401): ${what}\n${hint}`;
    }
    if (e.status === 403) return `not allowed (HTTP 403): ${what}`;
    return `the server refused the request (HTTP ${e.status}): ${what}`;
  }
  return `unexpected error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`;
}

const NOT_TLS_HINT =
  "Something answers there, but not in TLS: rportd serves plain HTTP unless its [api] cert_file and key_file are set, so use an http:// URL (--url or RPORT_API_URL), or check the port is rportd's [api] address. --cacert and --insecure do not change this.";

const HUNG_UP_HINT =
  'The server closed the connection without answering. If rportd has [api] cert_file set it serves HTTPS only: use an https:// URL, with --cacert FILE (or RPORT_API_CACERT) for a certificate this machine does not trust. Otherwise: is rportd running?';

const TRUST_HINT =
  "If this is rportd's certificate, trust the CA that signed it (for a self-signed certificate, the certificate itself: rportd's [api] cert_file) with --cacert FILE or the RPORT_API_CACERT environment variable; --insecure skips the check (for tests only).";

/** Names the certificate problem first: rportd is running, so "is it running?" would mislead. */
function explainTls(e: TlsCertificateError, ctx: ErrorContext | undefined): string {
  const source = ctx ? ` (URL from ${ctx.urlSource})` : '';
  const problem =
    e.code === 'CERT_HAS_EXPIRED' || e.code === 'CERT_NOT_YET_VALID'
      ? "the certificate is outside its validity dates: renew it on rportd ([api] cert_file), or check this machine's clock"
      : e.code === 'ERR_TLS_CERT_ALTNAME_INVALID' || e.code === 'HOSTNAME_MISMATCH'
        ? 'the certificate does not name the host in the URL: use a host name it was issued for, or reissue it with a subjectAltName for this host'
        : 'the certificate is not signed by a CA that rportcli trusts';
  return `${e.message}${source}\n${problem}.\n${TRUST_HINT}`;
}
