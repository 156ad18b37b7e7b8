import WebSocket from 'ws';
import { RportApiError, connectionError, errorsOf, networkReason } from './api-errors.ts';
import type { LiveOutcome, LiveProgress, TargetStatus } from './api-types.ts';
import { tlsConnectOptions, type TlsOptions } from './tls-options.ts';

const STATUSES: TargetStatus[] = ['pending', 'success', 'ignored', 'error'];

/**
 * Listens to GET /api/v1/ws/uploads. Open it before sending an upload: the server keeps no
 * backlog for listeners, so an outcome that happens before the socket opens is never sent.
 * Every outcome is kept from the moment the socket opens, so the caller can ask for an upload's
 * outcomes once it learns the upload's uuid. Of progress (a socket opened with `?progress=1`), only
 * the latest per upload and client is kept.
 */
export class WsResultsListener {
  private readonly seen: LiveOutcome[] = [];
  private readonly subscribers = new Set<(o: LiveOutcome) => void>();
  private readonly latestProgress = new Map<string, LiveProgress>();
  private readonly progressSubscribers = new Set<(p: LiveProgress) => void>();
  private closedByUs = false;
  private dropReason: string | undefined;
  private onDrop: ((reason: string) => void) | undefined;

  private constructor(private readonly socket: WebSocket) {
    socket.on('message', (data) => this.receive(data.toString()));
    socket.on('close', (code, reason) =>
      this.dropped(`the server closed the results socket (${code} ${reason.toString()})`.trim()),
    );
    socket.on('error', (e) => this.dropped(networkReason(e)));
  }

  /** Resolves once the socket is open; rejects with RportApiError (401/403), TlsCertificateError or ServerUnreachableError. */
  static open(wsUrl: string, token: string, tls?: TlsOptions): Promise<WsResultsListener> {
    return new Promise((resolve, reject) => {
      // The token travels as a subprotocol, not in the URL, so it does not end up in access logs.
      const socket = new WebSocket(wsUrl, ['bearer', token], {
        handshakeTimeout: 15000,
        ...(wsUrl.startsWith('wss:') ? tlsConnectOptions(tls) : {}),
      });
      const fail = (e: Error): void => {
        socket.removeAllListeners();
        socket.on('error', () => undefined);
        socket.terminate();
        reject(e);
      };
      socket.once('unexpected-response', (_req, res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () =>
          fail(
            new RportApiError(
              res.statusCode ?? 0,
              errorsOf(body, `the results socket was refused with HTTP ${res.statusCode}`),
            ),
          ),
        );
        res.on('error', () => fail(new RportApiError(res.statusCode ?? 0, [])));
      });
      socket.once('error', (e) => fail(connectionError(wsUrl, e)));
      socket.once('open', () => {
        socket.removeAllListeners();
        resolve(new WsResultsListener(socket));
      });
    });
  }

  /**
   * Outcomes of one upload: those already received, then each new one as it arrives. Returns an
   * unsubscribe. Those already received come in a microtask, after follow() has returned, so a
   * callback may unsubscribe at once (before, a caller whose outcomes had all come already met its
   * unsubscribe uninitialised); no new one can arrive in between, as the socket delivers in a later task.
   */
  follow(
    uuid: string,
    onOutcome: (o: LiveOutcome) => void,
    onProgress?: (p: LiveProgress) => void,
  ): () => void {
    const earlier = this.seen.filter((o) => o.uuid === uuid);
    const earlierProgress = [...this.latestProgress.values()].filter((p) => p.uuid === uuid);
    let following = true;
    const sub = (o: LiveOutcome): void => {
      if (o.uuid === uuid) onOutcome(o);
    };
    const progressSub = (p: LiveProgress): void => {
      if (p.uuid === uuid) onProgress?.(p);
    };
    this.subscribers.add(sub);
    this.progressSubscribers.add(progressSub);
    if (earlier.length > 0 || earlierProgress.length > 0)
      queueMicrotask(() => {
        earlierProgress.forEach((p) => following && onProgress?.(p));
        earlier.forEach((o) => following && onOutcome(o));
      });
    return () => {
      following = false;
      this.subscribers.delete(sub);
      this.progressSubscribers.delete(progressSub);
    };
  }

  /** Called once if the socket goes away before close(); the caller then falls back to asking for stored results. */
  onDropped(cb: (reason: string) => void): void {
    this.onDrop = cb;
    if (this.dropReason !== undefined) cb(this.dropReason);
  }

  close(): void {
    this.closedByUs = true;
    this.subscribers.clear();
    this.progressSubscribers.clear();
    this.socket.close();
    // Do not wait for the closing handshake of a server that may be gone.
    setTimeout(() => this.socket.terminate(), 1000).unref();
  }

  private receive(text: string): void {
    let m: unknown;
    try {
      m = JSON.parse(text);
    } catch {
      return;
    }
    if (typeof m !== 'object' || m === null) return;
    // A message with a type is not an outcome: progress, or a kind this version does not know.
    if ('type' in m) {
      const p = progressOf(m as Record<string, unknown>);
      if (!p) return;
      this.latestProgress.set(`${p.uuid}\n${p.client_id}`, p);
      for (const sub of this.progressSubscribers) sub(p);
      return;
    }
    const o = outcomeOf(m as Record<string, unknown>);
    if (!o) return;
    this.seen.push(o);
    for (const sub of this.subscribers) sub(o);
  }

  private dropped(reason: string): void {
    if (this.closedByUs || this.dropReason !== undefined) return;
    this.dropReason = reason;
    this.onDrop?.(reason);
  }
}

/** A `{type:"progress",…}` message; undefined for anything else. */
function progressOf(m: Record<string, unknown>): LiveProgress | undefined {
  const { type, uuid, client_id, bytes, size } = m;
  if (type !== 'progress' || typeof uuid !== 'string' || typeof client_id !== 'string') return undefined;
  if (typeof bytes !== 'number' || typeof size !== 'number' || !(size > 0) || !(bytes >= 0)) return undefined;
  return { uuid, client_id, bytes: Math.min(bytes, size), size };
}

function outcomeOf(m: Record<string, unknown>): LiveOutcome | undefined {
  if (typeof m.uuid !== 'string' || typeof m.client_id !== 'string') return undefined;
  const status = STATUSES.includes(m.status as TargetStatus) ? (m.status as TargetStatus) : 'error';
  return {
    uuid: m.uuid,
    client_id: m.client_id,
    status,
    message: typeof m.message === 'string' ? m.message : '',
    filepath: typeof m.filepath === 'string' ? m.filepath : '',
    size: typeof m.size === 'number' ? m.size : 0,
    ...(typeof m.changed === 'boolean' ? { changed: m.changed } : {}),
    ...(typeof m.backup === 'string' ? { backup: m.backup } : {}),
    ...(typeof m.diff === 'string' ? { diff: m.diff } : {}),
  };
}
