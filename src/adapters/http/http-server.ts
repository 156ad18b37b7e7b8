import {
  createServer as createHttp,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import { createServer as createHttps } from 'node:https';
import { createServer as createTcp, type Server as TcpServer, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type Koa from 'koa';
import type { ProxyProtocolGate } from '../net/proxy-protocol-gate.ts';

/** Handles an HTTP upgrade (WebSocket) on one path; it owns the socket from then on. */
export type UpgradeHandler = (req: IncomingMessage, socket: Duplex, head: Buffer) => void;

export interface TlsFiles {
  cert: Buffer;
  key: Buffer;
}

/**
 * rportd's HTTP(S) listener: the Koa app plus a registry of WebSocket upgrade paths, so other
 * adapters (the uploads socket, SSH tunnelled over WebSocket for agents) share the one port.
 */
export class HttpServer {
  readonly server: Server;
  private readonly upgrades = new Map<string, UpgradeHandler>();
  /** With a PROXY protocol gate, the TCP listener that reads the header first and hands the socket on. */
  private front: TcpServer | undefined;

  constructor(
    app: Koa,
    private readonly tls?: TlsFiles,
    /** `[api] proxy_protocol_from`: off when the gate trusts no proxy. */
    private readonly proxyGate?: ProxyProtocolGate,
  ) {
    const handler = app.callback() as (req: IncomingMessage, res: ServerResponse) => void;
    this.server = tls ? createHttps({ cert: tls.cert, key: tls.key }, handler) : createHttp(handler);
    this.server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) =>
      this.upgrade(req, socket, head),
    );
    this.server.on('clientError', (_err, socket: Duplex) => {
      if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n');
      else socket.destroy();
    });
    // TLS wraps the TCP socket in a new one: the header's address is carried over, before any request.
    if (tls && proxyGate?.enabled)
      this.server.prependListener('secureConnection', (t: Socket & { _parent?: Socket }) => {
        const address = t._parent?.remoteAddress;
        if (address !== undefined)
          Object.defineProperty(t, 'remoteAddress', { value: address, configurable: true });
      });
  }

  /** Registers the handler of WebSocket upgrades on an exact path (query string ignored). */
  onUpgrade(path: string, handler: UpgradeHandler): void {
    if (this.upgrades.has(path)) throw new Error(`an upgrade handler for ${path} exists already`);
    this.upgrades.set(path, handler);
  }

  /** The paths with a WebSocket upgrade handler (the API description lists them). */
  get upgradePaths(): string[] {
    return [...this.upgrades.keys()];
  }

  /** Listens on host:port (port 0 picks one); resolves with the bound port. */
  listen(host: string, port: number): Promise<number> {
    const gate = this.proxyGate;
    if (gate?.enabled)
      this.front = createTcp((socket) =>
        gate.take(socket, () => {
          this.server.emit('connection', socket);
          // Plain HTTP reads through the stream, which the gate left paused; TLS takes the handle over.
          if (!this.tls) socket.resume();
        }),
      );
    const listener = this.front ?? this.server;
    return new Promise((resolve, reject) => {
      listener.once('error', reject);
      listener.listen(port, host, () => {
        listener.off('error', reject);
        // The HTTP server's request timeouts and connection tracking start on its 'listening'.
        if (this.front) this.server.emit('listening');
        const a = listener.address();
        resolve(typeof a === 'object' && a ? a.port : port);
      });
    });
  }

  /** Stops accepting, ends idle keep-alive connections and waits for the rest. */
  close(): Promise<void> {
    return new Promise((resolve) => {
      const front = this.front;
      if (front) {
        if (!front.listening) return resolve();
        this.proxyGate?.close();
        front.close(() => resolve());
        // Stops the request-timeout timer; the HTTP server itself was never bound.
        this.server.close(() => undefined);
      } else if (!this.server.listening) return resolve();
      else this.server.close(() => resolve());
      this.server.closeIdleConnections();
      // Requests still running get a moment, then their sockets go.
      setTimeout(() => this.server.closeAllConnections(), 2000).unref();
    });
  }

  private upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    socket.on('error', () => socket.destroy());
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    const handler = this.upgrades.get(path);
    if (!handler) return refuseUpgrade(socket, 404, `no WebSocket endpoint at ${path}`);
    handler(req, socket, head);
  }
}

/** Answers an upgrade request with an HTTP error and the usual error document, then closes. */
export function refuseUpgrade(
  socket: Duplex,
  status: number,
  detail: string,
  extraHeaders: Record<string, string> = {},
): void {
  const body = JSON.stringify({
    errors: [{ code: status === 401 ? 'unauthorized' : 'refused', title: String(status), detail }],
  });
  const reason = { 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found' }[status] ?? 'Bad Request';
  const headers = {
    'Content-Type': 'application/json',
    'Content-Length': String(Buffer.byteLength(body)),
    Connection: 'close',
    ...extraHeaders,
  };
  socket.end(
    `HTTP/1.1 ${status} ${reason}\r\n${Object.entries(headers)
      .map(([k, v]) => `${k}: ${v}`)
      .join('\r\n')}\r\n\r\n${body}`,
    () => socket.destroy(),
  );
}
