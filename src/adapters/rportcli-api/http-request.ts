import http from 'node:http';
import https from 'node:https';
import { ServerUnreachableError, connectionError, networkReason } from './api-errors.ts';
import type { StreamedAnswer } from './http-upload.ts';
import { tlsConnectOptions, type TlsOptions } from './tls-options.ts';

/**
 * One request with a small body, answered in full. node:http, not fetch: Node's fetch cannot be
 * given a CA or told to skip the check per request without the undici package's Agent.
 */
export function sendRequest(
  url: URL,
  opts: { method: string; headers: Record<string, string>; body?: string; timeoutMs: number },
  tls: TlsOptions | undefined,
  serverUrl: string,
): Promise<StreamedAnswer> {
  return new Promise((resolve, reject) => {
    const headers = { ...opts.headers };
    if (opts.body !== undefined) headers['content-length'] = String(Buffer.byteLength(opts.body));
    const req = (url.protocol === 'https:' ? https : http).request(url, {
      method: opts.method,
      headers,
      // One connection per request: a pooled idle socket would hold the process open.
      agent: false,
      ...(url.protocol === 'https:' ? tlsConnectOptions(tls) : {}),
    });
    const timer = setTimeout(
      () => req.destroy(new Error(`no answer within ${opts.timeoutMs / 1000}s`)),
      opts.timeoutMs,
    );
    const fail = (e: unknown): void => {
      clearTimeout(timer);
      reject(connectionError(serverUrl, e));
    };
    req.once('error', fail);
    req.once('response', (res) => {
      const parts: Buffer[] = [];
      res.on('data', (c: Buffer) => parts.push(c));
      res.once('error', (e) => {
        clearTimeout(timer);
        reject(new ServerUnreachableError(serverUrl, networkReason(e)));
      });
      res.once('end', () => {
        clearTimeout(timer);
        resolve({ status: res.statusCode ?? 0, text: Buffer.concat(parts).toString('utf8') });
      });
    });
    req.end(opts.body);
  });
}
