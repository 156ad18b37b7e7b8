import { isIP } from 'node:net';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import type { FileSource } from '../../ports/file-source.ts';
import type { Logger } from '../../ports/logger.ts';
import type { PushRequest } from '../../domain/push-request.ts';
import { certificateFingerprint } from './file-tls-certificate.ts';
import { MAX_STATUS_LINE, parseStatusLine, requestLine, type FetchOffer } from './fetch-offer.ts';

/** The offers of the pushes under way, by staged name: set when a push arrives, taken by its fetch. */
export class FetchOffers {
  private readonly offers = new Map<string, FetchOffer & { host: string }>();

  set(sourceName: string, offer: FetchOffer & { host: string }): void {
    this.offers.set(sourceName, offer);
  }

  /** The offer, once: a second fetch of the same push goes by SFTP. */
  take(sourceName: string): (FetchOffer & { host: string }) | undefined {
    const offer = this.offers.get(sourceName);
    this.offers.delete(sourceName);
    return offer;
  }

  /** The push is over (its offer may never have been taken: a refused push fetches nothing). */
  delete(sourceName: string): void {
    this.offers.delete(sourceName);
  }
}

interface TlsFileSourceOptions {
  offers: FetchOffers;
  /** Where a push without an offer, or whose TLS fetch failed before its first byte, is fetched: SFTP. */
  fallback: FileSource & { cancel(sourceName: string): void };
  logger: Logger;
  /** Told each chunk's size (the agent paces its scavenges by it). */
  received?: (bytes: number) => void;
  /** Connect, handshake and the server's status line. */
  connectTimeoutMs?: number;
  /** A stream that delivers nothing for this long fails. */
  idleTimeoutMs?: number;
  /** After a TLS connection to a listener fails, its offers are passed over (straight to SFTP) this long. */
  retryAfterMs?: number;
  now?: () => number;
}

/** Bytes taken from the socket and not yet asked for by the consumer; beyond it the socket pauses. */
const HIGH_WATER = 1024 * 1024;

interface Opened {
  socket: TLSSocket;
  /** Bytes that came with the status line. */
  rest: Buffer;
}

/**
 * Agent side: fetches a pushed file over TLS 1.3 from rportd's file listener when the push offered it
 * (docs/protocol.md, "Fetching the file over TLS"), pinning the certificate whose fingerprint came
 * over the SSH control channel. Any failure before the first byte (refused connection, another
 * certificate, a refused token) is logged and the fetch goes by SFTP instead. Chunks are the
 * socket's own buffers, each lent as the port says; the socket pauses while the consumer lags.
 */
export class TlsFileSource implements FileSource {
  private readonly active = new Map<string, Set<(e: Error) => void>>();
  /**
   * Listeners that could not be reached, until when they are passed over: behind a firewall that
   * drops the port, every push would otherwise wait out the connect timeout before its SFTP fetch.
   */
  private readonly unreachable = new Map<string, number>();

  constructor(private readonly o: TlsFileSourceOptions) {}

  /** The server cancelled this push: fail its fetches now, over TLS or SFTP. */
  cancel(sourceName: string): void {
    for (const abort of this.active.get(sourceName) ?? []) abort(new Error('the server cancelled the push'));
    this.o.fallback.cancel(sourceName);
  }

  async *open(request: PushRequest): AsyncIterable<Uint8Array> {
    const offer = this.o.offers.take(request.sourceName);
    if (!offer) return yield* this.o.fallback.open(request);
    const server = `${offer.host}:${offer.port}`;
    const now = this.o.now ?? Date.now;
    if ((this.unreachable.get(server) ?? 0) > now()) return yield* this.o.fallback.open(request);
    let opened: Opened;
    try {
      opened = await this.connect(offer, request);
    } catch (e) {
      const failure = e as Error & { reached?: boolean };
      const retryAfterMs = this.o.retryAfterMs ?? 300_000;
      // A listener that answered (a refused token, another certificate) is tried again at the next push.
      if (!failure.reached) this.unreachable.set(server, now() + retryAfterMs);
      this.o.logger.warn(
        {
          source: request.sourceName,
          server,
          err: failure.message,
          ...(failure.reached ? {} : { tls_passed_over_for_s: retryAfterMs / 1000 }),
        },
        'TLS fetch failed; fetching by SFTP instead',
      );
      return yield* this.o.fallback.open(request);
    }
    this.unreachable.delete(server);
    yield* this.stream(opened, request);
  }

  private async *stream({ socket, rest }: Opened, request: PushRequest): AsyncIterable<Uint8Array> {
    const queue: Buffer[] = rest.length > 0 ? [rest] : [];
    let queued = rest.length;
    let ended = false;
    let error: Error | undefined;
    let wake: (() => void) | undefined;
    const poke = (): void => wake?.();
    const abort = (e: Error): void => void socket.destroy(e);
    const set = this.active.get(request.sourceName) ?? new Set();
    set.add(abort);
    this.active.set(request.sourceName, set);
    socket.on('data', (chunk: Buffer) => {
      queue.push(chunk);
      queued += chunk.length;
      if (queued >= HIGH_WATER) socket.pause();
      poke();
    });
    socket.on('end', () => ((ended = true), poke()));
    socket.on('close', () => ((ended = true), poke()));
    socket.on('error', (e) => ((error ??= e), poke()));
    const idle = this.o.idleTimeoutMs ?? 60_000;
    socket.setTimeout(idle, () => socket.destroy(new Error(`no data for ${idle / 1000} s`)));
    socket.resume();
    let got = 0;
    try {
      for (;;) {
        const chunk = queue.shift();
        if (chunk) {
          queued -= chunk.length;
          if (queued < HIGH_WATER && socket.isPaused()) socket.resume();
          got += chunk.length;
          if (got > request.size)
            throw new Error(`${request.sourceName}: the server sent more than ${request.size} bytes`);
          this.o.received?.(chunk.length);
          yield chunk;
          continue;
        }
        if (error) throw new Error(`TLS ${request.sourceName}: ${error.message}`);
        if (ended) break;
        await new Promise<void>((resolve) => (wake = resolve));
        wake = undefined;
      }
      if (got < request.size)
        throw new Error(`${request.sourceName} ended early at byte ${got} of ${request.size}`);
    } finally {
      set.delete(abort);
      if (set.size === 0) this.active.delete(request.sourceName);
      socket.destroy();
    }
  }

  /** Connects, checks the pinned certificate, then (only then) sends the token and reads `OK <size>`. */
  private connect(offer: FetchOffer & { host: string }, request: PushRequest): Promise<Opened> {
    const timeoutMs = this.o.connectTimeoutMs ?? 10_000;
    return new Promise((resolve, reject) => {
      const socket = tlsConnect({
        host: offer.host,
        port: offer.port,
        // No CA: the certificate is checked against the pinned fingerprint below, before the token leaves.
        rejectUnauthorized: false,
        minVersion: 'TLSv1.3',
        ...(isIP(offer.host) ? {} : { servername: offer.host }),
      });
      let settled = false;
      /** True once the TLS handshake finished: the listener is there. */
      let reached = false;
      const fail = (why: string): void => {
        socket.destroy();
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        reject(Object.assign(new Error(why), { reached }));
      };
      const timer = setTimeout(() => fail(`no answer within ${timeoutMs / 1000} s`), timeoutMs);
      socket.on('error', (e) => fail(e.message));
      socket.once('close', () => fail('the server closed the connection'));
      socket.once('secureConnect', () => {
        reached = true;
        socket.setNoDelay(true);
        const seen = certificateFingerprint(socket.getPeerCertificate().raw);
        if (seen !== offer.fingerprint)
          return fail(`the server presented certificate ${seen}, not the pinned ${offer.fingerprint}`);
        socket.write(requestLine(offer.token, request.sourceName));
      });
      let head: Buffer = Buffer.alloc(0);
      const onData = (chunk: Buffer): void => {
        head = head.length > 0 ? Buffer.concat([head, chunk]) : chunk;
        const nl = head.indexOf(10);
        if (nl < 0) {
          if (head.length > MAX_STATUS_LINE) fail(`an answer line longer than ${MAX_STATUS_LINE} bytes`);
          return;
        }
        const status = parseStatusLine(head.subarray(0, nl).toString('utf8'));
        if ('error' in status) return fail(`the server refused the fetch: ${status.error}`);
        if (status.size !== request.size)
          return fail(`the server offers ${status.size} bytes where the push says ${request.size}`);
        settled = true;
        clearTimeout(timer);
        socket.off('data', onData);
        socket.pause();
        socket.removeAllListeners('close');
        socket.removeAllListeners('error');
        socket.on('error', () => undefined); // the stream below listens from its first step
        resolve({ socket, rest: head.subarray(nl + 1) });
      };
      socket.on('data', onData);
    });
  }
}
