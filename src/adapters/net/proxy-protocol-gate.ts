/**
 * Reads the PROXY protocol header from connections of trusted proxies (`proxy_protocol_from`)
 * before anything else sees them, so that login bans, the per-address handshake cap, logs and the
 * audit log name the real peer rather than the load balancer.
 */
import type { Socket } from 'node:net';
import type { Logger } from '../../ports/logger.ts';
import { AddressList } from '../auth/address-list.ts';
import { RateLimitedWarnings } from '../http/rate-limited-warnings.ts';
import { parseProxyHeader, V1_MAX_BYTES, V2_MAX_BYTES } from './proxy-header.ts';

/** A proxy sends its header as it connects: a trusted peer silent this long is not one. */
export const PROXY_HEADER_TIMEOUT_MS = 3000;
const MAX_HEADER_BYTES = Math.max(V1_MAX_BYTES, V2_MAX_BYTES);

export interface ProxyProtocolSettings {
  /** CIDR ranges (or bare addresses) of the proxies whose connections must start with a header. */
  from: readonly string[];
  /** The config key, named in every warning: `[server] proxy_protocol_from`. */
  key: string;
  timeoutMs?: number;
}

export class ProxyProtocolGate {
  private readonly trusted: AddressList;
  private readonly warnings: RateLimitedWarnings;
  private readonly timeoutMs: number;
  /** Sockets whose header is still awaited: a closing listener drops them (they are no one else's yet). */
  private readonly waiting = new Set<Socket>();

  constructor(settings: ProxyProtocolSettings, logger: Logger) {
    this.trusted = new AddressList(settings.from);
    this.timeoutMs = settings.timeoutMs ?? PROXY_HEADER_TIMEOUT_MS;
    this.warnings = new RateLimitedWarnings(
      logger,
      `connection from a trusted proxy dropped: no valid PROXY protocol header (${settings.key})`,
    );
  }

  /** False when no proxy is trusted: every connection is taken as it is. */
  get enabled(): boolean {
    return !this.trusted.empty;
  }

  /**
   * Hands the socket on with its peer's address: at once for an untrusted peer (its own address,
   * no header read); for a trusted one, once its header is read, paused, with the bytes after the
   * header put back, and remoteAddress/remotePort the header's source. A malformed, oversized or
   * late header drops the connection; ready is then never called.
   */
  take(socket: Socket, ready: (address: string) => void): void {
    const peer = socket.remoteAddress ?? 'unknown';
    if (!this.trusted.has(peer)) return ready(peer);
    let seen: Buffer = Buffer.alloc(0);
    const done = (): void => {
      this.waiting.delete(socket);
      clearTimeout(timer);
      socket.off('data', onData);
      socket.off('close', onClose);
    };
    const drop = (reason: string): void => {
      done();
      this.warnings.warn({ address: peer, reason });
      socket.destroy();
    };
    const onData = (chunk: Buffer): void => {
      seen = seen.length === 0 ? chunk : Buffer.concat([seen, chunk]);
      const r = parseProxyHeader(seen);
      if (r.kind === 'incomplete') {
        if (seen.length >= MAX_HEADER_BYTES) drop(`header longer than ${MAX_HEADER_BYTES} bytes`);
        return;
      }
      if (r.kind === 'invalid') return drop(r.reason);
      socket.pause();
      done();
      const rest = seen.subarray(r.length);
      if (rest.length > 0) socket.unshift(rest);
      if (r.source) {
        const { address, port } = r.source;
        Object.defineProperty(socket, 'remoteAddress', { value: address, configurable: true });
        Object.defineProperty(socket, 'remotePort', { value: port, configurable: true });
      }
      ready(r.source?.address ?? peer);
    };
    const onClose = (): void => done();
    const timer = setTimeout(
      () => drop(`no complete header within ${this.timeoutMs / 1000} s (${seen.length} bytes)`),
      this.timeoutMs,
    );
    this.waiting.add(socket);
    socket.on('error', () => socket.destroy());
    socket.on('data', onData);
    socket.once('close', onClose);
  }

  /** Drops the connections still waiting for their header. */
  close(): void {
    for (const socket of [...this.waiting]) socket.destroy();
  }
}
