import http from 'node:http';
import https from 'node:https';
import { ServerUnreachableError, connectionError, networkReason } from './api-errors.ts';
import { tlsConnectOptions, type TlsOptions } from './tls-options.ts';

/** A server's whole answer to one request. */
export interface StreamedAnswer {
  status: number;
  text: string;
}

/**
 * A request over node:http or node:https, by the URL's scheme, on a connection of its own (a pooled
 * idle socket would hold the process open), checking the certificate as `tls` says. node:http, not
 * fetch: Node's fetch cannot be given a CA or told to skip the check per request without the
 * undici package's Agent.
 */
export function openRequest(
  url: URL,
  options: http.RequestOptions,
  tls: TlsOptions | undefined,
): http.ClientRequest {
  const secure = url.protocol === 'https:';
  return (secure ? https : http).request(url, {
    ...options,
    agent: false,
    ...(secure ? tlsConnectOptions(tls) : {}),
  });
}

/** Reads an answer to its end; an answer cut off on the way is an unreachable server. */
export function readAnswer(res: http.IncomingMessage, serverUrl: string): Promise<StreamedAnswer> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    res.on('data', (c: Buffer) => parts.push(c));
    res.once('error', (e) => reject(new ServerUnreachableError(serverUrl, networkReason(e))));
    res.once('end', () =>
      resolve({ status: res.statusCode ?? 0, text: Buffer.concat(parts).toString('utf8') }),
    );
  });
}

/** One request with a small body, answered in full. */
export function sendRequest(
  url: URL,
  opts: { method: string; headers: Record<string, string>; body?: string; timeoutMs: number },
  tls: TlsOptions | undefined,
  serverUrl: string,
): Promise<StreamedAnswer> {
  return new Promise((resolve, reject) => {
    const headers = { ...opts.headers };
    if (opts.body !== undefined) headers['content-length'] = String(Buffer.byteLength(opts.body));
    const req = openRequest(url, { method: opts.method, headers }, tls);
    const timer = setTimeout(
      () => req.destroy(new Error(`no answer within ${opts.timeoutMs / 1000}s`)),
      opts.timeoutMs,
    );
    req.once('error', (e) => {
      clearTimeout(timer);
      reject(connectionError(serverUrl, e));
    });
    req.once('response', (res) => {
      readAnswer(res, serverUrl)
        .then(resolve, reject)
        .finally(() => clearTimeout(timer));
    });
    req.end(opts.body);
  });
}
