import { EventEmitter } from 'node:events';
import type { Duplex } from 'node:stream';
import ssh2 from 'ssh2';
import type { Logger } from '../../../ports/logger.ts';
import { failure, type PushVerdict } from '../../../domain/outcome.ts';
import type { PushRequest } from '../../../domain/push-request.ts';
import { messageOf } from '../../../domain/errors.ts';
import { pacedProgress } from '../../../domain/transfer-progress.ts';
import type { AgentTransport } from './transport.ts';
import type { AgentIdentity } from './agent-key.ts';
import { fingerprintOf } from '../host-key.ts';
import {
  CONTROL_SUBSYSTEM,
  encodeLine,
  LineSplitter,
  MAX_READ,
  parseJson,
  PROTOCOL_VERSION,
  type AgentMessage,
  type HelloMessage,
} from '../protocol.ts';
import { SSH_ALGORITHMS } from '../ssh-algorithms.ts';
import { SftpSessions, type SftpLease } from './sftp-sessions.ts';
import { ServerRotation } from './server-rotation.ts';
import { corked } from '../ssh-socket.ts';
import { hostOfServer, parseFetchOffer, portOfServer } from '../../tls/fetch-offer.ts';
import type { FetchOffers } from '../../tls/tls-file-source.ts';
import { fasterHostKeyVerify, fasterKeyExchange } from '../ssh2-key-paths.ts';

/** What the agent does with a push (ReceiveFile, in production). */
interface PushHandler {
  handle(request: PushRequest, onProgress: (bytes: number) => void): Promise<PushVerdict>;
  /** The server gave up on this push: stop fetching it. */
  cancel(request: PushRequest): void;
}

interface ServerConnectionOptions {
  /** Where rportd is: one server, or the servers of `[client] server` in the order they are tried. */
  transport: AgentTransport | readonly AgentTransport[];
  /** The pinned host key fingerprint, `SHA256:…`: every server of the list must present it (nodes share the host key). */
  fingerprint: string;
  credentialId: string;
  password: string;
  hello: Omit<HelloMessage, 'type' | 'protocol' | 'key' | 'proof'>;
  /** The agent's own key, proved at every hello. */
  identity: AgentIdentity;
  handler: PushHandler;
  logger: Logger;
  keepaliveIntervalMs?: number;
  keepaliveCountMax?: number;
  readyTimeoutMs?: number;
  backoff?: { initialMs: number; maxMs: number };
  /** Where a push's TLS offer goes for the file source to take; without it, offers are ignored (SFTP). */
  fetchOffers?: FetchOffers;
}

/**
 * The agent's one SSH connection to rportd: pinned host key, login, control channel, and
 * reconnection with exponential backoff and jitter after any loss. With several servers, a failure
 * moves to the next one at once (ServerRotation); the backoff is paid once per full round of
 * failures, and before the first attempt after losing a working connection.
 * Events: 'connected' (after welcome), 'disconnected', 'failure' (Error of a failed attempt).
 */
export class ServerConnection extends EventEmitter {
  private client: ssh2.Client | undefined;
  private sftpSessions: SftpSessions | undefined;
  private sock: Duplex | undefined;
  private welcomed = false;
  private stopped = true;
  private attempt = 0;
  private retryTimer: NodeJS.Timeout | undefined;
  private readSize = MAX_READ;
  private readonly live = new Map<string, PushRequest>();
  private readonly servers: ServerRotation<AgentTransport>;

  constructor(private readonly o: ServerConnectionOptions) {
    super();
    fasterHostKeyVerify();
    this.servers = new ServerRotation(Array.isArray(o.transport) ? o.transport : [o.transport]);
  }

  /** The server the agent is connected to, or tries next. */
  get server(): string {
    return this.servers.current.description;
  }

  get connected(): boolean {
    return this.welcomed;
  }

  /** SFTP READ size agreed with the server (its `max_read` from welcome, at most ours). */
  get maxRead(): number {
    return this.readSize;
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    void this.connectOnce();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    const c = this.client;
    if (!c) return;
    await new Promise<void>((resolve) => {
      c.once('close', () => resolve());
      c.end();
      setTimeout(() => (c.destroy(), resolve()), 2000).unref();
    });
  }

  /** Runs send with the connection's stream corked, so the SSH packets it writes leave in one write (one syscall, not one each). */
  corked<T>(send: () => T): T {
    return corked(this.sock, send);
  }

  /** An SFTP session of the live connection for one transfer, shared with others and kept open after it (SftpSessions). */
  openSftp(): Promise<SftpLease> {
    const c = this.client;
    if (!c || !this.welcomed || !this.sftpSessions)
      return Promise.reject(new Error('not connected to the server'));
    return this.sftpSessions.lease();
  }

  /** Resolves at the next (or current) welcome. */
  waitConnected(): Promise<void> {
    return this.welcomed
      ? Promise.resolve()
      : new Promise((resolve) => this.once('connected', () => resolve()));
  }

  private async connectOnce(): Promise<void> {
    if (this.stopped) return;
    const transport = this.servers.current;
    let sock;
    try {
      sock = await transport.connect();
    } catch (e) {
      return this.lost(e as Error);
    }
    if (this.stopped) return void sock.destroy();
    const client = new ssh2.Client();
    this.client = client;
    this.sock = sock;
    this.sftpSessions = new SftpSessions(
      () => new Promise((resolve, reject) => client.sftp((err, sftp) => (err ? reject(err) : resolve(sftp)))),
    );
    let hostKeyProblem: string | undefined;
    let failure: Error | undefined;
    client.on('error', (e) => (failure ??= hostKeyProblem ? new Error(hostKeyProblem) : e));
    client.on('ready', () => {
      fasterKeyExchange(client);
      this.openControl(client);
    });
    client.on('close', () => {
      if (this.client === client) this.client = undefined;
      this.lost(failure ?? new Error('the connection to the server was closed'));
    });
    client.connect({
      sock,
      username: this.o.credentialId,
      password: this.o.password,
      algorithms: SSH_ALGORITHMS,
      keepaliveInterval: this.o.keepaliveIntervalMs ?? 15_000,
      keepaliveCountMax: this.o.keepaliveCountMax ?? 3,
      readyTimeout: this.o.readyTimeoutMs ?? 20_000,
      hostVerifier: (key: Buffer) => {
        const seen = fingerprintOf(key);
        if (seen === this.o.fingerprint) return true;
        hostKeyProblem =
          `host key mismatch for ${transport.description}: the server presented ${seen}, ` +
          `but [client] fingerprint in rport.conf is ${this.o.fingerprint}; refusing to connect`;
        return false;
      },
    });
  }

  private openControl(client: ssh2.Client): void {
    (client as unknown as { setNoDelay(v: boolean): void }).setNoDelay(true);
    client.subsys(CONTROL_SUBSYSTEM, (err, channel) => {
      if (err) {
        // An rportd of protocol 1 knows only rport-control@v1 and refuses this one.
        const why =
          `the server refused the control subsystem ${CONTROL_SUBSYSTEM} (${err.message}): it is most likely ` +
          `an rportd older than control protocol ${PROTOCOL_VERSION}, which this agent speaks; upgrade rportd ` +
          'to the version of this agent';
        this.o.logger.error({ err: err.message }, why);
        this.emit('failure', new Error(why));
        return void client.end();
      }
      const send = (m: AgentMessage): void => void (channel.writable && channel.write(encodeLine(m)));
      const splitter = new LineSplitter(
        (line) => this.onServerLine(client, line, send),
        (problem) => (this.o.logger.error({ problem }, 'bad control line from the server'), client.end()),
      );
      channel.on('data', (chunk: Buffer) => splitter.push(chunk));
      channel.on('close', () => client.end());
      // The hello waits for the server's challenge: it signs it (docs/protocol.md, "Client keys").
    });
  }

  /** The hello, proving this agent's key over the challenge the server sent on this connection. */
  private hello(challenge: string): AgentMessage {
    const { identity, hello } = this.o;
    return {
      type: 'hello',
      protocol: PROTOCOL_VERSION,
      ...hello,
      key: identity.publicKey,
      proof: identity.prove(challenge, hello.id),
    };
  }

  private onServerLine(client: ssh2.Client, line: string, send: (m: AgentMessage) => void): void {
    const m = parseJson(line);
    if (!m) return;
    if (m.type === 'challenge' && typeof m.challenge === 'string' && !this.welcomed) {
      send(this.hello(m.challenge));
    } else if (m.type === 'welcome') {
      this.welcomed = true;
      this.attempt = 0;
      this.servers.succeeded();
      if (typeof m.max_read === 'number' && m.max_read > 0) this.readSize = Math.min(MAX_READ, m.max_read);
      this.o.logger.info({ server: this.server }, 'connected to the server');
      this.emit('connected');
    } else if (m.type === 'error') {
      this.o.logger.error({ message: m.message }, 'the server refused this client');
      this.emit('failure', new Error(`the server refused this client: ${String(m.message)}`));
    } else if (
      m.type === 'push' &&
      typeof m.req_id === 'string' &&
      typeof m.request === 'object' &&
      m.request !== null
    ) {
      void this.runPush(client, m.req_id, m.request as PushRequest, send, m.tls);
    } else if (m.type === 'cancel' && typeof m.req_id === 'string') {
      const req = this.live.get(m.req_id);
      if (req) this.o.handler.cancel(req);
    }
  }

  private async runPush(
    client: ssh2.Client,
    reqId: string,
    request: PushRequest,
    send: (m: AgentMessage) => void,
    tls?: unknown,
  ): Promise<void> {
    this.live.set(reqId, request);
    const offers = this.o.fetchOffers;
    const offer = offers && parseFetchOffer(tls);
    if (offer) {
      // On the SSH port: where this agent reached it, whatever port rportd itself listens on.
      const port = (offer.same_port && portOfServer(this.server)) || offer.port;
      offers!.set(request.sourceName, { ...offer, host: offer.host ?? hostOfServer(this.server), port });
    }
    // A short push, or a small file, sends no progress line, only its result.
    const onProgress = pacedProgress(request.size, Date.now, (bytes) =>
      send({ type: 'progress', req_id: reqId, bytes }),
    );
    let verdict: PushVerdict;
    try {
      verdict = await this.o.handler.handle(request, onProgress);
    } catch (e) {
      verdict = failure(`the client failed unexpectedly: ${messageOf(e)}`);
    } finally {
      this.live.delete(reqId);
      if (offer) offers!.delete(request.sourceName);
    }
    if (this.client === client) send({ type: 'result', req_id: reqId, ...verdict });
  }

  private lost(why: Error): void {
    const wasConnected = this.welcomed;
    this.welcomed = false;
    if (wasConnected) this.emit('disconnected');
    if (this.stopped) return;
    this.emit('failure', why);
    const step = this.servers.failed();
    // Within a round the next server is tried at once: a dead node costs one refused connect, not a
    // wait. The backoff (with jitter) comes after a full round, so a dead node gets one attempt per
    // round; and before the first attempt after a loss, so the agents of a killed node spread their
    // reconnects over the others instead of arriving in the same instant.
    const delay = step.roundFailed || wasConnected ? this.nextBackoff() : 0;
    if (this.servers.size === 1) {
      this.o.logger.warn(
        { server: step.from.description, err: why.message, retry_in_ms: delay },
        'not connected to the server; retrying',
      );
    } else {
      const switched = { from: step.from.description, to: step.to.description, reason: why.message };
      this.o.logger.warn(
        { ...switched, retry_in_ms: delay },
        step.roundFailed
          ? 'no server of the list answered; retrying from the first'
          : 'switching to the next server',
      );
    }
    this.retryTimer = setTimeout(() => void this.connectOnce(), delay);
  }

  private nextBackoff(): number {
    const backoff = this.o.backoff ?? { initialMs: 1000, maxMs: 60_000 };
    const base = Math.min(backoff.maxMs, backoff.initialMs * 2 ** this.attempt);
    this.attempt = Math.min(this.attempt + 1, 30);
    return Math.round(base * (0.5 + Math.random()));
  }
}
