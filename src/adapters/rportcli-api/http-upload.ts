import { once } from 'node:events';
import { LocalFileError, connectionError } from './api-errors.ts';
import { openRequest, readAnswer, type StreamedAnswer } from './http-request.ts';
import type { TlsOptions } from './tls-options.ts';

/**
 * POSTs a streamed body with node:http, writing the next chunk only after the socket drained.
 * Not fetch: Node's fetch (undici) keeps every chunk of a streamed request body in memory until
 * the request ends (nodejs/undici#4058, with FormData and fs.openAsBlob too), which defeats streaming
 * (docs/adr/0005-cli-upload-over-node-http.md).
 * An answer that comes before the body is finished (401, 413...) stops the sending and is returned.
 */
export async function postStream(
  url: URL,
  headers: Record<string, string>,
  body: AsyncIterable<Uint8Array>,
  serverUrl: string,
  tls?: TlsOptions,
): Promise<StreamedAnswer> {
  // keep-alive, though the connection is never reused: with `Connection: close` (the default on a
  // connection of its own) the server closes the socket right after an early answer (413, 401) while
  // the body is still streaming, and the write that meets the closed socket (EPIPE) can come before
  // the answer is read.
  const request = openRequest(
    url,
    { method: 'POST', headers: { connection: 'keep-alive', ...headers } },
    tls,
  );
  const stop = new AbortController();
  const answered = new Promise<StreamedAnswer>((resolve, reject) => {
    request.once('response', (res) => {
      stop.abort();
      readAnswer(res, serverUrl).then(resolve, reject);
    });
    request.once('error', (e) => {
      stop.abort();
      reject(e instanceof LocalFileError ? e : connectionError(serverUrl, e));
    });
  });
  // Keep the rejection handled while the body is still being written (openRequest gives each upload a connection of its own, closed after).
  answered.catch(() => undefined);

  const iterator = body[Symbol.asyncIterator]();
  try {
    for (;;) {
      if (stop.signal.aborted) break;
      const next = await iterator.next();
      if (next.done) {
        request.end();
        break;
      }
      if (!request.write(next.value) && !stop.signal.aborted) {
        await once(request, 'drain', { signal: stop.signal }).catch(() => undefined);
      }
    }
  } catch (e) {
    // Our own file failed mid-way: abandon the request; the server deletes a partial upload.
    request.destroy();
    throw e;
  } finally {
    await iterator.return?.();
  }
  try {
    return await answered;
  } finally {
    // An early answer leaves the rest of the body unsent: drop the connection instead of reusing it.
    if (!request.writableFinished) request.destroy();
  }
}
