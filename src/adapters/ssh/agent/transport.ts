import { connect as tcpConnect } from 'node:net';
import type { Duplex } from 'node:stream';
import { createWebSocketStream, WebSocket } from 'ws';

/**
 * How long a connect may take before the next server is tried. The OS gives up on a host that
 * drops packets (powered off, cut off) only after minutes of SYN retries; a node that is down must
 * cost the agents of a cluster seconds. ssh2's readyTimeout takes over once the socket is up.
 */
export const CONNECT_TIMEOUT_MS = 10_000;

/** How the agent reaches the server: any duplex that carries the SSH bytes. */
export interface AgentTransport {
  /** A connected stream, or a rejection naming the address. */
  connect(): Promise<Duplex>;
  readonly description: string;
}

/** Raw TCP SSH, the default. Nagle off: ssh2 never turns it off itself (docs/benchmarks.md, "ssh2 itself"). */
export class TcpTransport implements AgentTransport {
  constructor(
    private readonly host: string,
    private readonly port: number,
    private readonly timeoutMs = CONNECT_TIMEOUT_MS,
  ) {}

  get description(): string {
    return `${this.host}:${this.port}`;
  }

  connect(): Promise<Duplex> {
    return new Promise((resolve, reject) => {
      const socket = tcpConnect({ host: this.host, port: this.port, noDelay: true });
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new Error(`cannot reach ${this.description}: no answer within ${this.timeoutMs / 1000} s`));
      }, this.timeoutMs);
      socket.once('connect', () => {
        clearTimeout(timer);
        resolve(socket);
      });
      // Kept after the connect too: an error before ssh2 listens must not crash the agent (the reject is then a no-op).
      socket.once('error', (e) => {
        clearTimeout(timer);
        reject(new Error(`cannot reach ${this.description}: ${e.message}`));
      });
    });
  }
}

/** SSH tunnelled through a WebSocket: how agents behind HTTP proxies reach the server. */
export class WebSocketTransport implements AgentTransport {
  constructor(
    private readonly url: string,
    private readonly timeoutMs = CONNECT_TIMEOUT_MS,
  ) {}

  get description(): string {
    return this.url;
  }

  connect(): Promise<Duplex> {
    return new Promise((resolve, reject) => {
      // handshakeTimeout covers the TCP (and TLS) connect and the HTTP upgrade together.
      const ws = new WebSocket(this.url, { perMessageDeflate: false, handshakeTimeout: this.timeoutMs });
      ws.once('open', () => {
        ws.off('error', onError);
        const stream = createWebSocketStream(ws);
        stream.on('error', () => ws.terminate());
        resolve(stream);
      });
      const onError = (e: Error): void => reject(new Error(`cannot reach ${this.url}: ${e.message}`));
      ws.once('error', onError);
      ws.once('unexpected-response', (_req, res) => {
        ws.terminate();
        reject(new Error(`cannot reach ${this.url}: HTTP ${res.statusCode} instead of a WebSocket upgrade`));
      });
    });
  }
}

/** `[client] server`: "host:port" (TCP) or "ws://host:port/path" / "wss://…" (WebSocket). Throws naming the key. */
export function transportFor(server: string): AgentTransport {
  if (/^wss?:\/\//i.test(server)) {
    try {
      new URL(server);
    } catch {
      throw new Error(`[client] server "${server}" is not a valid WebSocket URL`);
    }
    return new WebSocketTransport(server);
  }
  const m = /^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/.exec(server);
  const port = m ? Number(m[2]) : NaN;
  if (!m || port < 1 || port > 65535) {
    throw new Error(
      `[client] server "${server}" must be "host:port" (TCP) or "ws://host:port/path" (WebSocket)`,
    );
  }
  return new TcpTransport(m[1].replace(/^\[|\]$/g, ''), port);
}
