/**
 * rportd's file-fetch listener over TLS 1.3 (`[server] file_tls_address`, off by default): an agent
 * that holds a one-time token from a push fetches that push's staged file here instead of by SFTP.
 * OpenSSL does the per-byte work (docs/adr/0009). It serves one thing, as the SFTP confinement does:
 * the staged file of a push live for the client the token was sent to, through that client's own
 * grants, so the file and the transfer slot are the ones its SFTP sessions would have shared.
 */
import type { AddressInfo, Socket } from 'node:net';
import { createServer, type Server, type TLSSocket } from 'node:tls';
import type { Logger } from '../../ports/logger.ts';
import { AddressList, LOOPBACK_RANGES, sourceKey } from '../auth/address-list.ts';
import type { GrantedFile } from '../ssh/server/push-grants.ts';
import { ReadBuffers } from '../ssh/server/read-buffers.ts';
import type { FileTlsCertificate } from './file-tls-certificate.ts';
import { MAX_REQUEST_LINE, parseRequestLine, type FetchOffer } from './fetch-offer.ts';
import { FetchTokens, type FetchGrant } from './fetch-tokens.ts';

export interface FileTlsSettings {
  /** From TCP accept to a finished TLS handshake. */
  handshakeTimeoutMs: number;
  /** From the handshake to the whole request line. */
  requestTimeoutMs: number;
  /** TLS connections open at once; more are dropped at accept. */
  maxConnections: number;
  /** Connections one address may have before a request is accepted (handshake, request line); more are dropped at accept. */
  maxUnprovenPerAddress: number;
  /** Addresses (CIDR, or bare) that cap does not apply to: loopback, as for the SSH listener's. */
  capExempt: readonly string[];
  /** Read buffers of readSize shared by every connection: bounds the file bytes read ahead server-wide. */
  maxReads: number;
  readSize: number;
}

export const DEFAULT_FILE_TLS_SETTINGS: FileTlsSettings = {
  handshakeTimeoutMs: 10_000,
  requestTimeoutMs: 10_000,
  maxConnections: 256,
  maxUnprovenPerAddress: 8,
  capExempt: LOOPBACK_RANGES,
  maxReads: 64,
  readSize: 256 * 1024,
};

/** AES-128-GCM first: the cheapest suite with AES-NI, as the SSH link's aes128-gcm (ssh-algorithms.ts). */
const SUITES = 'TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256';

export class FileTlsListener {
  readonly settings: FileTlsSettings;
  private readonly tokens = new FetchTokens();
  private readonly buffers: ReadBuffers;
  private readonly server: Server;
  private readonly open = new Set<TLSSocket>();
  private readonly exempt: AddressList;
  /** Per source: connections not yet past an accepted request. */
  private readonly unproven = new Map<string, number>();
  /** By "address|port": takes a connection off its source's count once its request is accepted. */
  private readonly uncount = new Map<string, () => void>();
  /** The host put in offers; undefined when listening on every address (the agent uses its SSH host). */
  private host: string | undefined;
  private port = 0;
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
    this.server.on('connection', (raw: Socket) => this.onTcp(raw));
    this.server.on('tlsClientError', (e, socket) => {
      this.logger.debug({ address: socket.remoteAddress, err: e.message }, 'file TLS handshake failed');
    });
  }

  get fingerprint(): string {
    return this.certificate.fingerprint;
  }

  /** Listens; resolves with the bound port. */
  listen(port: number, host: string): Promise<number> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => {
        this.server.off('error', reject);
        this.port = (this.server.address() as AddressInfo).port;
        this.host = host === '0.0.0.0' || host === '::' || host === '' ? undefined : host;
        resolve(this.port);
      });
    });
  }

  /** A one-time token for this push's file, for the client it is sent to. */
  offer(grant: FetchGrant): FetchOffer {
    return {
      ...(this.host ? { host: this.host } : {}),
      port: this.port,
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

  async close(): Promise<void> {
    const stopped = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const s of this.open) s.destroy();
    await stopped;
  }

  /**
   * Before the TLS handshake: an address with too many connections not yet past a request is cut,
   * so one peer cannot keep the handshakes' CPU to itself (the SSH listener caps logins the same way).
   */
  private onTcp(raw: Socket): void {
    const address = raw.remoteAddress ?? 'unknown';
    if (this.exempt.has(address)) return;
    const key = sourceKey(address);
    const n = this.unproven.get(key) ?? 0;
    if (n >= this.settings.maxUnprovenPerAddress) {
      this.logger.debug({ address }, 'file TLS connection dropped at accept: too many from this address');
      return void raw.destroy();
    }
    this.unproven.set(key, n + 1);
    const id = `${address}|${raw.remotePort}`;
    let counted = true;
    const uncount = (): void => {
      if (!counted) return;
      counted = false;
      this.uncount.delete(id);
      const left = (this.unproven.get(key) ?? 1) - 1;
      if (left > 0) this.unproven.set(key, left);
      else this.unproven.delete(key);
    };
    this.uncount.set(id, uncount);
    raw.once('close', uncount);
  }

  private onSecure(socket: TLSSocket): void {
    const address = socket.remoteAddress ?? 'unknown';
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
      this.serve(socket, address, head.slice(0, nl));
    });
    socket.once('close', () => clearTimeout(timer));
  }

  /** Checks the request and starts the stream; the token is spent before anything is awaited. */
  private serve(socket: TLSSocket, address: string, line: string): void {
    const request = parseRequestLine(line);
    if (typeof request === 'string') return this.refuse(socket, address, request);
    const grant = this.tokens.take(request.token);
    if (!grant) return this.refuse(socket, address, 'an unknown, used or expired token');
    const who = { client_id: grant.clientId, name: grant.name };
    if (grant.name !== request.name)
      return this.refuse(socket, address, `the token is not for ${request.name}`, who);
    if (!grant.isLive()) return this.refuse(socket, address, 'the push is no longer live', who);
    this.uncount.get(`${address}|${socket.remotePort}`)?.();
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
        this.stream(socket, file).then(
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

  /**
   * `OK <size>` and the file's bytes, read ahead by one buffer. A client that stops reading stops the
   * reads: a write that fills the socket's buffer waits for 'drain', so a connection holds at most
   * three buffers (one read ahead, two written) whatever the file's size.
   */
  private async stream(socket: TLSSocket, file: GrantedFile): Promise<void> {
    const size = file.stats.size;
    const gone = new Promise<void>((resolve) => socket.once('close', resolve));
    const send = async (chunk: Buffer, done?: () => void): Promise<void> => {
      this.sent += chunk.length;
      if (!socket.write(chunk, done)) await Promise.race([new Promise((r) => socket.once('drain', r)), gone]);
    };
    await send(Buffer.from(`OK ${size}\n`));
    const step = this.settings.readSize;
    if (file.held) {
      // Already in memory: written as views, no copy and no read.
      for (let at = 0; at < size && !socket.destroyed; at += step)
        await send(file.held.bytes.subarray(at, Math.min(size, at + step)));
      return;
    }
    const fh = file.fh!;
    const read = async (at: number): Promise<{ buf: Buffer; n: number }> => {
      const buf = await this.buffers.take();
      try {
        const { bytesRead } = await fh.read(buf, 0, Math.min(step, size - at), at);
        if (bytesRead === 0) throw new Error(`the staged file ended at byte ${at} of ${size}`);
        return { buf, n: bytesRead };
      } catch (e) {
        this.buffers.give(buf);
        throw e;
      }
    };
    let at = 0;
    let next: Promise<{ buf: Buffer; n: number }> | undefined = read(0);
    while (next) {
      const { buf, n } = await next;
      at += n;
      next = at < size && !socket.destroyed ? read(at) : undefined;
      next?.catch(() => undefined);
      if (socket.destroyed) {
        this.buffers.give(buf);
        await next?.then(({ buf: b }) => this.buffers.give(b)).catch(() => undefined);
        return;
      }
      // The buffer goes back once the socket is done with it (written or destroyed: Node calls back either way).
      await send(buf.subarray(0, n), () => this.buffers.give(buf));
    }
  }

  /** Ends a connection at once, mid-stream too. */
  private drop(socket: TLSSocket, address: string, why: string): void {
    if (socket.destroyed) return;
    this.logger.warn({ address, why }, 'file TLS connection dropped');
    socket.destroy();
  }

  private refuse(socket: TLSSocket, address: string, why: string, who: Record<string, string> = {}): void {
    this.logger.warn({ ...who, address, why }, 'file TLS fetch refused');
    if (socket.destroyed) return;
    socket.end(`ERR ${why}\n`);
    // A peer that never reads the refusal does not keep the socket.
    setTimeout(() => socket.destroy(), 1000).unref();
  }
}
