/**
 * rportd's file-fetch listener over TLS 1.3: an agent that holds a one-time token from a push
 * fetches that push's staged file here instead of by SFTP. It takes the TLS connections that reach
 * the SSH port (`[server] file_tls`, take()), or listens on a port of its own (`file_tls_address`).
 * OpenSSL does the per-byte work (docs/adr/0009). It serves one thing, as the SFTP confinement does:
 * the staged file of a push live for the client the token was sent to, through that client's own
 * grants, so the file and the transfer slot are the ones its SFTP sessions would have shared.
 */
import type { AddressInfo, Socket } from 'node:net';
import { createServer, type Server, type TLSSocket } from 'node:tls';
import type { Logger } from '../../ports/logger.ts';
import { AddressList, sourceKey } from '../auth/address-list.ts';
import { RateLimitedWarnings } from '../http/rate-limited-warnings.ts';
import { ReadBuffers } from '../ssh/server/read-buffers.ts';
import type { FileTlsCertificate } from './file-tls-certificate.ts';
import { MAX_REQUEST_LINE, parseRequestLine, type FetchOffer } from './fetch-offer.ts';
import { FetchTokens, type FetchGrant } from './fetch-tokens.ts';
import { DEFAULT_FILE_TLS_SETTINGS, type FileTlsSettings } from './file-tls-settings.ts';
import { streamStagedFile } from './staged-file-stream.ts';

export { DEFAULT_FILE_TLS_SETTINGS, type FileTlsSettings } from './file-tls-settings.ts';

/** AES-128-GCM first: the cheapest suite with AES-NI, as the SSH link's aes128-gcm (ssh-algorithms.ts). */
const SUITES = 'TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256';

export class FileTlsListener {
  readonly settings: FileTlsSettings;
  private readonly tokens = new FetchTokens();
  private readonly buffers: ReadBuffers;
  private readonly server: Server;
  private readonly open = new Set<TLSSocket>();
  /** Every TCP connection from accept or take() until it closes: the connection cap counts these. */
  private readonly raw = new Set<Socket>();
  /** Sockets handed over by take(): already counted when the server sees them. */
  private readonly taken = new WeakSet<Socket>();
  /** Anyone who can reach the port causes these: a flood writes a few lines, not one per connection. */
  private readonly drops: RateLimitedWarnings;
  private readonly refusals: RateLimitedWarnings;
  private stopped = false;
  private readonly exempt: AddressList;
  /** Per source: connections not yet past an accepted request. */
  private readonly unproven = new Map<string, number>();
  /**
   * Per TCP connection: its peer's address (a PROXY header's source where one came: the TLS socket's
   * own remoteAddress would be the proxy's) and how to take it off its source's count.
   */
  private readonly peers = new WeakMap<Socket, { address: string; uncount: () => void }>();
  /** The host put in offers; undefined when listening on every address (the agent uses its SSH host). */
  private host: string | undefined;
  private boundPort = 0;
  /** File bytes handed to sockets since start. */
  private sent = 0;

  constructor(
    private readonly certificate: FileTlsCertificate,
    private readonly logger: Logger,
    settings: Partial<FileTlsSettings> = {},
  ) {
    this.settings = { ...DEFAULT_FILE_TLS_SETTINGS, ...settings };
    this.buffers = new ReadBuffers(this.settings.maxReads, this.settings.readSize);
    this.server = createServer(
      {
        cert: certificate.cert,
        key: certificate.key,
        minVersion: 'TLSv1.3',
        ciphers: SUITES,
        handshakeTimeout: this.settings.handshakeTimeoutMs,
      },
      (socket) => this.onSecure(socket),
    );
    this.server.maxConnections = this.settings.maxConnections;
    this.exempt = new AddressList(this.settings.capExempt);
    this.drops = new RateLimitedWarnings(logger, 'file TLS connection dropped');
    this.refusals = new RateLimitedWarnings(logger, 'file TLS fetch refused');
    this.server.on('connection', (raw: Socket) => {
      if (!this.taken.has(raw)) this.admit(raw, raw.remoteAddress ?? 'unknown');
    });
    this.server.on('tlsClientError', (e, socket) => {
      // OpenSSL's own message carries its source file and line; its reason is what a reader needs.
      const cause = (e as { reason?: string }).reason ?? e.message.trim();
      this.drops.warn({ address: this.peerOf(socket).address, why: `TLS handshake failed: ${cause}` });
      // Node reports a handshake timeout here and leaves the socket open: without this it would stay.
      socket.destroy();
    });
  }

  /**
   * A connection that reached the SSH port and opened with a TLS record, its first bytes still
   * unread, from the peer at address (the PROXY header's source when a proxy sent one). It goes the
   * way an accepted one does, under the same bounds: the connection cap, the per-address cap, the
   * handshake and request deadlines.
   */
  take(socket: Socket, address: string): void {
    if (this.stopped || !this.admit(socket, address)) return;
    this.taken.add(socket);
    this.server.emit('connection', socket);
  }

  get fingerprint(): string {
    return this.certificate.fingerprint;
  }

  /** The port of its own it listens on; 0 when it only takes connections from the SSH port. */
  get port(): number {
    return this.boundPort;
  }

  /** Listens; resolves with the bound port. */
  listen(port: number, host: string): Promise<number> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => {
        this.server.off('error', reject);
        this.boundPort = (this.server.address() as AddressInfo).port;
        this.host = host === '0.0.0.0' || host === '::' || host === '' ? undefined : host;
        resolve(this.boundPort);
      });
    });
  }

  /**
   * A one-time token for this push's file, for the client it is sent to. sshPort: the listener
   * takes its connections on the SSH port, and this is the one the agent's connection came in on;
   * the offer then names no host and says same_port, so the agent fetches from the host and port
   * it reached over SSH.
   */
  offer(grant: FetchGrant, sshPort?: number): FetchOffer {
    if (sshPort !== undefined) {
      const token = this.tokens.issue(grant);
      return { port: sshPort, fingerprint: this.certificate.fingerprint, token, same_port: true };
    }
    return {
      ...(this.host ? { host: this.host } : {}),
      port: this.boundPort,
      fingerprint: this.certificate.fingerprint,
      token: this.tokens.issue(grant),
    };
  }

  /** The push is over for that client: its tokens are void (a stream under way ends with its grant). */
  revoke(clientId: string, name: string): void {
    this.tokens.revoke(clientId, name);
  }

  /** Connections open now, tokens outstanding and read buffers lent out (tests and diagnostics). */
  get stats(): { connections: number; tokens: number; buffersInUse: number; sentBytes: number } {
    return {
      connections: this.open.size,
      tokens: this.tokens.size,
      buffersInUse: this.buffers.inUse,
      sentBytes: this.sent,
    };
  }

  /** Stops listening (when it listens) and drops every connection, handshaking or streaming. */
  async close(): Promise<void> {
    this.stopped = true;
    const stopped = this.server.listening
      ? new Promise<void>((resolve) => this.server.close(() => resolve()))
      : undefined;
    for (const s of this.open) s.destroy();
    for (const s of this.raw) s.destroy();
    await stopped;
  }

  /**
   * Before the TLS handshake: over the connection cap, or from an address with too many connections
   * not yet past a request, it is cut, so one peer cannot keep the handshakes' CPU to itself (the
   * SSH listener caps logins the same way). False when it was cut.
   */
  private admit(raw: Socket, address: string): boolean {
    const cut = (why: string): boolean => {
      this.drops.warn({ address, why });
      raw.destroy();
      return false;
    };
    if (this.stopped) return cut('the listener is closing');
    if (this.raw.size >= this.settings.maxConnections)
      return cut(`more than ${this.settings.maxConnections} connections open`);
    const key = sourceKey(address);
    const n = this.unproven.get(key) ?? 0;
    const capped = !this.exempt.has(address);
    if (capped && n >= this.settings.maxUnprovenPerAddress)
      return cut(`more than ${this.settings.maxUnprovenPerAddress} from this address before a request`);
    raw.on('error', () => undefined);
    this.raw.add(raw);
    raw.once('close', () => this.raw.delete(raw));
    let counted = capped;
    if (counted) this.unproven.set(key, n + 1);
    const uncount = (): void => {
      if (!counted) return;
      counted = false;
      const left = (this.unproven.get(key) ?? 1) - 1;
      if (left > 0) this.unproven.set(key, left);
      else this.unproven.delete(key);
    };
    this.peers.set(raw, { address, uncount });
    raw.once('close', uncount);
    return true;
  }

  /** The record admit made for the TCP connection under a server TLS socket (Node keeps it as _parent). */
  private peerOf(socket: TLSSocket): { address: string; uncount: () => void } {
    const raw = (socket as unknown as { _parent?: Socket })._parent;
    return (
      (raw && this.peers.get(raw)) ?? { address: socket.remoteAddress ?? 'unknown', uncount: () => undefined }
    );
  }

  private onSecure(socket: TLSSocket): void {
    const peer = this.peerOf(socket);
    const address = peer.address;
    this.open.add(socket);
    socket.once('close', () => this.open.delete(socket));
    socket.on('error', () => undefined);
    socket.setNoDelay(true);
    // Bounds that hold before anything is awaited: the request line's size and its deadline.
    const timer = setTimeout(
      () => this.refuse(socket, address, `no request within ${this.settings.requestTimeoutMs / 1000} s`),
      this.settings.requestTimeoutMs,
    );
    let head = '';
    let asked = false;
    socket.on('data', (chunk: Buffer) => {
      // The agent sends its line and then only reads: anything more is not our client.
      if (asked) return this.drop(socket, address, 'bytes after the request line');
      head += chunk.toString('latin1');
      const nl = head.indexOf('\n');
      if (nl < 0 && head.length < MAX_REQUEST_LINE) return;
      clearTimeout(timer);
      asked = true;
      if (nl < 0 || nl >= MAX_REQUEST_LINE)
        return this.refuse(socket, address, `a request line longer than ${MAX_REQUEST_LINE} bytes`);
      if (nl !== head.length - 1) return this.drop(socket, address, 'bytes after the request line');
      this.serve(socket, peer, head.slice(0, nl));
    });
    socket.once('close', () => clearTimeout(timer));
  }

  /** Checks the request and starts the stream; the token is spent before anything is awaited. */
  private serve(socket: TLSSocket, peer: { address: string; uncount: () => void }, line: string): void {
    const address = peer.address;
    const request = parseRequestLine(line);
    if (typeof request === 'string') return this.refuse(socket, address, request);
    const grant = this.tokens.take(request.token);
    if (!grant) return this.refuse(socket, address, 'an unknown, used or expired token');
    const who = { client_id: grant.clientId, name: grant.name };
    if (grant.name !== request.name)
      return this.refuse(socket, address, `the token is not for ${request.name}`, who);
    if (!grant.isLive()) return this.refuse(socket, address, 'the push is no longer live', who);
    peer.uncount();
    const held = grant.grants.take(grant.name);
    let given = false;
    const unwatch = grant.grants.onRevoke(held, () => socket.destroy());
    const letGo = (): void => {
      if (given) return;
      given = true;
      unwatch();
      grant.grants.give(held);
    };
    socket.once('close', letGo);
    held.ready.then(
      (file) => {
        if (socket.destroyed || held.revoked || !grant.isLive()) return void socket.destroy();
        this.logger.debug({ ...who, address }, 'file TLS fetch started');
        const parts = {
          buffers: this.buffers,
          readSize: this.settings.readSize,
          sent: (n: number) => (this.sent += n),
        };
        streamStagedFile(socket, file, parts).then(
          () => socket.end(),
          (e: unknown) => {
            this.logger.warn({ ...who, address, err: (e as Error).message }, 'file TLS fetch failed');
            socket.destroy();
          },
        );
      },
      (e: unknown) => {
        const missing = (e as NodeJS.ErrnoException).code === 'ENOENT';
        this.refuse(socket, address, missing ? 'no such staged file' : 'the push is no longer live', who);
      },
    );
  }

  /** Ends a connection at once, mid-stream too. */
  private drop(socket: TLSSocket, address: string, why: string): void {
    if (socket.destroyed) return;
    this.drops.warn({ address, why });
    socket.destroy();
  }

  private refuse(socket: TLSSocket, address: string, why: string, who: Record<string, string> = {}): void {
    this.refusals.warn({ ...who, address, why });
    if (socket.destroyed) return;
    socket.end(`ERR ${why}\n`);
    // A peer that never reads the refusal does not keep the socket.
    setTimeout(() => socket.destroy(), 1000).unref();
  }
}
