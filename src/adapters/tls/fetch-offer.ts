/**
 * The TLS fetch's small wire contract, shared by rportd's listener and the agent's TLS FileSource
 * (docs/protocol.md, "Fetching the file over TLS"): the offer a push carries on the SSH control
 * channel, the one request line the agent sends, and the one status line the server answers.
 */

/** What a push offers beside SFTP: where to fetch it over TLS, the pinned certificate and a one-time token. */
export interface FetchOffer {
  /** Absent when rportd listens on every address: the agent then uses the host it reached over SSH. */
  host?: string;
  port: number;
  /** `SHA256:<base64 without padding>` of the listener's certificate (DER). */
  fingerprint: string;
  /** base64url of 32 random bytes, good for one stream of this push's file to this client. */
  token: string;
  /**
   * The fetch is served on the SSH port: the agent connects to the host and port it reached over
   * SSH, which a port forward or a proxy may map to another port than `port` (rportd's own).
   */
  same_port?: true;
}

/** hello.features entry of an agent that can take a FetchOffer; older agents fetch by SFTP. */
export const TLS_FETCH_FEATURE = 'tls-fetch';
/** The request line's version word. */
export const FETCH_REQUEST = 'RPORT-FETCH/1';
/** Longest request line (with its newline) the server reads; a longer one is refused unread. */
export const MAX_REQUEST_LINE = 256;
/** Longest status line the agent reads. */
export const MAX_STATUS_LINE = 1024;
/** Hostnames, IPv4 and IPv6 literals (without brackets). */
const HOST = /^[A-Za-z0-9.:-]{1,253}$/;
const TOKEN = /^[A-Za-z0-9_-]{43}$/;
const FINGERPRINT = /^SHA256:[A-Za-z0-9+/]{43}$/;
const NAME = /^[A-Za-z0-9._-]{1,128}$/;

/** A checked offer, or undefined for anything else (the agent then fetches by SFTP). */
export function parseFetchOffer(v: unknown): FetchOffer | undefined {
  if (typeof v !== 'object' || v === null) return undefined;
  const o = v as Record<string, unknown>;
  if (o.host !== undefined && (typeof o.host !== 'string' || !HOST.test(o.host))) return undefined;
  if (typeof o.port !== 'number' || !Number.isInteger(o.port) || o.port < 1 || o.port > 65535)
    return undefined;
  if (typeof o.fingerprint !== 'string' || !FINGERPRINT.test(o.fingerprint)) return undefined;
  if (typeof o.token !== 'string' || !TOKEN.test(o.token)) return undefined;
  if (o.same_port !== undefined && typeof o.same_port !== 'boolean') return undefined;
  return {
    ...(o.host ? { host: o.host } : {}),
    port: o.port,
    fingerprint: o.fingerprint,
    token: o.token,
    ...(o.same_port === true ? { same_port: true as const } : {}),
  };
}

export const requestLine = (token: string, sourceName: string): string =>
  `${FETCH_REQUEST} ${token} ${sourceName}\n`;

/** The token and staged name of a request line (without its newline), or why it is not one. */
export function parseRequestLine(line: string): { token: string; name: string } | string {
  const [word, token, name, ...rest] = line.split(' ');
  if (word !== FETCH_REQUEST) return `the request does not start with ${FETCH_REQUEST}`;
  if (!token || !TOKEN.test(token)) return 'the request carries no well-formed token';
  if (!name || !NAME.test(name) || rest.length > 0) return 'the request names no well-formed staged file';
  return { token, name };
}

/** The server's answer: `OK <size>` then exactly size bytes, or `ERR <why>` and the end. */
export function parseStatusLine(line: string): { size: number } | { error: string } {
  const ok = /^OK (\d{1,16})$/.exec(line);
  if (ok) return { size: Number(ok[1]) };
  if (line.startsWith('ERR ')) return { error: line.slice(4) };
  return { error: `an unexpected answer ${JSON.stringify(line.slice(0, 80))}` };
}

/** The port of the agent's `[client] server` entry when it is host:port; undefined for a ws:// URL. */
export function portOfServer(server: string): number | undefined {
  if (/^wss?:\/\//i.test(server)) return undefined;
  const m = /:(\d{1,5})$/.exec(server);
  return m ? Number(m[1]) : undefined;
}

/** The host part of the agent's `[client] server` entry (host:port or a ws:// URL), for an offer without host. */
export function hostOfServer(server: string): string {
  if (/^wss?:\/\//i.test(server)) return new URL(server).hostname.replace(/^\[|\]$/g, '');
  return server.replace(/:\d+$/, '').replace(/^\[|\]$/g, '');
}
