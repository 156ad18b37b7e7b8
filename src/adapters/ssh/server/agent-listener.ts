import { createServer, type AddressInfo, type Server as NetServer, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import ssh2, { type AuthContext, type Connection, type ServerChannel, type Session } from 'ssh2';
import type { ClientCredentials } from '../../../ports/client-credentials.ts';
import type { ClientPresence } from '../../../ports/client-presence.ts';
import type { Logger } from '../../../ports/logger.ts';
import type { LiveTransfers } from '../../../ports/live-transfers.ts';
import { messageOf } from '../../../domain/errors.ts';
import { AgentConnection } from './agent-connection.ts';
import { AuthGuard, DEFAULT_AUTH_GUARD, type AuthGuardSettings } from '../../auth/auth-guard.ts';
import { serveConfinedSftp } from './confined-sftp.ts';
import { fastSigningHostKey, type HostKey } from '../host-key.ts';
import {
  CONTROL_SUBSYSTEM,
  encodeLine,
  LineSplitter,
  MAX_READ,
  parseHello,
  parseJson,
  PROTOCOL_VERSION,
  type ServerMessage,
} from '../protocol.ts';
import { SSH_ALGORITHMS } from '../ssh-algorithms.ts';
import { AgentChannels } from './agent-channels.ts';
import { ReadBuffers } from './read-buffers.ts';
import { StagedContents } from './staged-contents.ts';
import { corked, socketOf } from '../ssh-socket.ts';
import { TransferSlots } from './transfer-slots.ts';

export interface AgentListenerSettings {
  /** Time from TCP accept to a finished login and hello; slower peers are dropped. */
  handshakeTimeoutMs: number;
  /** Connections handshaking at once (bounds the CPU spent on key exchange); more wait in a queue. */
  maxHandshakes: number;
  /** Connections waiting, paused, for a handshake slot; beyond this they are dropped at accept. */
  maxQueuedHandshakes: number;
  keepaliveIntervalMs: number;
  keepaliveCountMax: number;
  /** SFTP files served at once across all agents. */
  maxTransfers: number;
  /** READs served at once across all agents, each with a pooled MAX_READ buffer: bounds the file bytes in memory. */
  maxReads: number;
  /** Session channels one connection may hold open (control + one per concurrent push). */
  maxChannelsPerConnection: number;
  /** Refused channels/requests one connection may make before it is cut. */
  maxRefusals: number;
  /** Failed logins on one connection before it is cut. */
  maxAuthFailuresPerConnection: number;
  auth: AuthGuardSettings;
}

export const DEFAULT_LISTENER_SETTINGS: AgentListenerSettings = {
  handshakeTimeoutMs: 20_000,
  maxHandshakes: 64,
  maxQueuedHandshakes: 4096,
  keepaliveIntervalMs: 15_000,
  keepaliveCountMax: 3,
  maxTransfers: 32,
  maxReads: 64,
  maxChannelsPerConnection: 64,
  maxRefusals: 32,
  maxAuthFailuresPerConnection: 3,
  auth: DEFAULT_AUTH_GUARD,
};

export interface AgentListenerDeps {
  hostKey: HostKey;
  credentials: ClientCredentials;
  presence: ClientPresence;
  transfers: LiveTransfers;
  stagingDir: string;
  logger: Logger;
  settings?: Partial<AgentListenerSettings>;
  /** Told every SFTP byte sent, to pace young-generation GCs (ScavengePacer); none in tests. */
  pacer?: { moved(bytes: number): void };
}

interface Peer {
  address: string;
  handshaking: boolean;
  timer: NodeJS.Timeout;
}

interface Waiting {
  stream: Duplex;
  address: string;
  leave: () => void;
}

const FORBIDDEN_SESSION_REQUESTS = [
  'pty',
  'x11',
  'env',
  'shell',
  'exec',
  'auth-agent',
  'signal',
  'window-change',
] as const;

/** rportd's client listener: an ssh2 Server that speaks only docs/protocol.md to agents. */
export class AgentListener {
  readonly channels = new AgentChannels();
  readonly settings: AgentListenerSettings;
  private readonly ssh: ssh2.Server;
  private readonly guard: AuthGuard;
  private readonly slots: TransferSlots;
  private readonly buffers: ReadBuffers;
  /** Small staged files in memory while they are fetched: a fan-out reads each from disk once. */
  private readonly contents = new StagedContents();
  private readonly peers = new WeakMap<Duplex, Peer>();
  private readonly live = new Set<Duplex>();
  private readonly tcp: NetServer[] = [];
  private handshaking = 0;
  /** Accepted connections waiting for a handshake slot, oldest first; each leaves on its own close. */
  private readonly waiting = new Set<Waiting>();
  /** Logged-in connections by the client credential they used, so that removing a credential ends them. */
  private readonly byCredential = new Map<string, Set<Connection>>();
  /** Removals so far, and the number of the last removal of each removed credential: a password check that began before it does not let the login in. */
  private removals = 0;
  private readonly removedAt = new Map<string, number>();
  private closed = false;

  constructor(private readonly deps: AgentListenerDeps) {
    this.settings = { ...DEFAULT_LISTENER_SETTINGS, ...deps.settings };
    this.guard = new AuthGuard(this.settings.auth);
    this.slots = new TransferSlots(this.settings.maxTransfers);
    this.buffers = new ReadBuffers(this.settings.maxReads, MAX_READ);
    this.ssh = new ssh2.Server(
      {
        hostKeys: [{ key: fastSigningHostKey(deps.hostKey.privateKey) }],
        algorithms: SSH_ALGORITHMS,
        keepaliveInterval: this.settings.keepaliveIntervalMs,
        keepaliveCountMax: this.settings.keepaliveCountMax,
        ident: 'rportd',
      },
      (client, info) => this.onConnection(client, info.ip),
    );
  }

  get fingerprint(): string {
    return this.deps.hostKey.fingerprint;
  }

  /** Listens for raw TCP SSH; resolves with the bound port. */
  listen(port: number, host: string): Promise<number> {
    const server = createServer((socket) => this.accept(socket, socket.remoteAddress ?? 'unknown'));
    this.tcp.push(server);
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        resolve((server.address() as AddressInfo).port);
      });
    });
  }

  /** Takes any duplex carrying SSH (TCP socket, WebSocket stream, in-memory pair) from a peer at address. */
  accept(stream: Duplex, address: string): void {
    if (this.closed || this.guard.isBanned(address)) return void stream.destroy();
    if (this.handshaking < this.settings.maxHandshakes) return this.startHandshake(stream, address);
    // Over the cap: wait, paused, for a slot instead of being dropped (an agent dropped here backs off for seconds).
    if (this.waiting.size >= this.settings.maxQueuedHandshakes) return void stream.destroy();
    stream.pause();
    const timer = setTimeout(() => stream.destroy(), this.settings.handshakeTimeoutMs);
    const entry: Waiting = {
      stream,
      address,
      leave: () => {
        clearTimeout(timer);
        stream.off('close', entry.leave);
        this.waiting.delete(entry);
      },
    };
    this.waiting.add(entry);
    stream.once('close', entry.leave);
    stream.on('error', () => undefined);
  }

  /** Connections waiting for a handshake slot now. */
  get queuedHandshakes(): number {
    return this.waiting.size;
  }

  /** A handshake slot freed: the oldest waiting connection takes it. */
  private startNextHandshake(): void {
    while (!this.closed && this.handshaking < this.settings.maxHandshakes) {
      const next = this.waiting.values().next();
      if (next.done) return;
      const { stream, address, leave } = next.value;
      leave();
      if (stream.destroyed) continue;
      // No resume() here: ssh2 resumes the socket itself once its 'data' listener is on (a resume now would lose the bytes).
      this.startHandshake(stream, address);
    }
  }

  private startHandshake(stream: Duplex, address: string): void {
    (stream as Partial<Socket>).setNoDelay?.(true);
    this.handshaking += 1;
    const peer: Peer = {
      address,
      handshaking: true,
      timer: setTimeout(() => stream.destroy(), this.settings.handshakeTimeoutMs),
    };
    this.peers.set(stream, peer);
    this.live.add(stream);
    stream.once('close', () => {
      this.live.delete(stream);
      this.handshakeOver(peer);
    });
    stream.on('error', () => undefined);
    this.ssh.injectSocket(stream as Socket);
  }

  /**
   * Ends every connection that logged in with this client credential (it was removed: an agent
   * already in must not stay in on it). Returns how many were ended; their agents retry and are
   * refused from then on.
   */
  endSessionsOf(credentialId: string): number {
    this.removals += 1;
    this.removedAt.set(credentialId, this.removals);
    const connections = [...(this.byCredential.get(credentialId) ?? [])];
    for (const client of connections) client.end();
    if (connections.length > 0)
      this.deps.logger.info(
        { credential_id: credentialId, connections: connections.length },
        'ended the connections of a removed client credential',
      );
    return connections.length;
  }

  /** Stops listening and drops every agent. */
  async close(): Promise<void> {
    this.closed = true;
    const stopped = Promise.all(
      this.tcp.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))),
    );
    // net.Server#close waits for open connections, so drop them first.
    for (const { stream } of [...this.waiting]) stream.destroy();
    for (const s of this.live) s.destroy();
    this.live.clear();
    await stopped;
  }

  private handshakeOver(peer: Peer): void {
    if (!peer.handshaking) return;
    peer.handshaking = false;
    clearTimeout(peer.timer);
    this.handshaking -= 1;
    this.startNextHandshake();
  }

  private onConnection(client: Connection, ip: string | undefined): void {
    // The stream ssh2 was given is how we find our peer record.
    const stream = socketOf(client);
    const peer = this.peers.get(stream) ?? {
      address: ip ?? 'unknown',
      handshaking: false,
      timer: setTimeout(() => undefined, 0),
    };
    const log = this.deps.logger;
    let refusals = 0;
    let authFailures = 0;
    let sessions = 0;
    let agent: AgentConnection | undefined;
    let announced: Promise<unknown> = Promise.resolve();
    const refuse = (what: string): void => {
      refusals += 1;
      log.warn(
        { address: peer.address, client_id: agent?.clientId, what },
        'refused a forbidden SSH request',
      );
      if (refusals > this.settings.maxRefusals) client.end();
    };

    client.on('error', (e) => {
      log.debug({ address: peer.address, err: messageOf(e) }, 'SSH connection error');
      // On a keepalive timeout ssh2 only end()s: a dead peer never answers that FIN, so the socket
      // would stay half-open, never 'close', and the agent would stay "connected" for good.
      if ((e as { level?: string }).level === 'client-timeout') stream.destroy();
    });
    client.on(
      'authentication',
      (ctx: AuthContext) => void this.authenticate(ctx, peer, () => (authFailures += 1), client),
    );
    client.on('ready', () => {
      // The login is done: the key exchange, the CPU the cap is for, is behind us, so the slot goes to
      // the next waiting connection now, not after the control channel and hello (three more round trips).
      this.handshakeOver(peer);
      // The hello must still arrive in time.
      peer.timer = setTimeout(() => !agent && client.end(), this.settings.handshakeTimeoutMs);
    });
    client.on('tcpip', (_accept, reject) => (refuse('direct-tcpip'), reject()));
    client.on('openssh.streamlocal', (_accept, reject) => (refuse('direct-streamlocal'), reject()));
    client.on('request', (_accept, reject, name) => (refuse(name), reject?.()));
    client.on('session', (accept, reject) => {
      if (sessions >= this.settings.maxChannelsPerConnection)
        return (refuse('session beyond the channel cap'), reject());
      sessions += 1;
      const session = accept();
      session.once('close', () => (sessions -= 1));
      this.onSession(
        session,
        refuse,
        () => agent,
        (control, registered) => {
          agent = control;
          announced = registered;
          clearTimeout(peer.timer); // the hello timer ('ready' came first and freed the handshake slot)
        },
        client,
      );
    });
    client.on('close', () => {
      this.handshakeOver(peer);
      if (!agent) return;
      agent.lost(`the connection to client ${agent.clientId} was closed`);
      if (this.channels.remove(agent)) {
        const id = agent.clientId;
        log.info({ client_id: id, address: peer.address }, 'client disconnected');
        // After the announce settles, so that a quick drop never leaves the client marked connected.
        void announced
          .catch(() => undefined)
          .then(() => this.deps.presence.disconnected(id))
          .catch((e: unknown) => log.error({ err: messageOf(e) }, 'marking a client disconnected failed'));
      }
    });
  }

  private async authenticate(
    ctx: AuthContext,
    peer: Peer,
    countFailure: () => number,
    client: Connection,
  ): Promise<void> {
    if (ctx.method !== 'password') return ctx.reject(['password']);
    let ok = false;
    const removalsBefore = this.removals;
    try {
      ok = await this.deps.credentials.verify(ctx.username, ctx.password);
      // Removed while its password was being checked (scrypt takes a while): the check saw it still there.
      if (ok && (this.removedAt.get(ctx.username) ?? 0) > removalsBefore) ok = false;
    } catch (e) {
      this.deps.logger.error({ err: messageOf(e) }, 'checking client credentials failed');
    }
    if (ok) {
      this.guard.succeeded(peer.address);
      this.loggedIn(ctx.username, client);
      return ctx.accept();
    }
    this.deps.logger.warn({ address: peer.address, credential_id: ctx.username }, 'client login failed');
    const failures = countFailure();
    await this.guard.failed(peer.address);
    if (this.guard.isBanned(peer.address) || failures >= this.settings.maxAuthFailuresPerConnection) {
      client.end();
      return;
    }
    ctx.reject(['password']);
  }

  private loggedIn(credentialId: string, client: Connection): void {
    let set = this.byCredential.get(credentialId);
    if (!set) this.byCredential.set(credentialId, (set = new Set()));
    set.add(client);
    client.once('close', () => {
      set.delete(client);
      if (set.size === 0 && this.byCredential.get(credentialId) === set)
        this.byCredential.delete(credentialId);
    });
  }

  private onSession(
    session: Session,
    refuse: (what: string) => void,
    agentNow: () => AgentConnection | undefined,
    onAgent: (a: AgentConnection, announced: Promise<unknown>) => void,
    client: Connection,
  ): void {
    for (const req of FORBIDDEN_SESSION_REQUESTS) {
      session.on(req, (_accept: unknown, reject?: () => void) => (refuse(req), reject?.()));
    }
    session.on('subsystem', (accept, reject, info) => {
      if (info.name !== CONTROL_SUBSYSTEM || agentNow() || controlOpen)
        return (refuse(`subsystem "${info.name}"`), reject());
      controlOpen = true;
      this.onControl(accept(), onAgent, client);
    });
    let controlOpen = false;
    session.on('sftp', (accept, reject) => {
      const agent = agentNow();
      if (!agent) return (refuse('sftp before hello'), reject());
      const transfers = this.deps.transfers;
      serveConfinedSftp(accept(), {
        clientId: agent.clientId,
        stagingDir: this.deps.stagingDir,
        isLive: (name) => agent.isServing(name) && transfers.isAllowed(agent.clientId, name),
        slots: this.slots,
        buffers: this.buffers,
        contents: this.contents,
        corked: (send) => corked(socketOf(client), send),
        logger: this.deps.logger,
        sent: this.deps.pacer && ((bytes: number) => this.deps.pacer!.moved(bytes)),
      });
    });
  }

  private onControl(
    channel: ServerChannel,
    onAgent: (a: AgentConnection, announced: Promise<unknown>) => void,
    client: Connection,
  ): void {
    const log = this.deps.logger;
    let agent: AgentConnection | undefined;
    const send = (m: ServerMessage): void => void (channel.writable && channel.write(encodeLine(m)));
    const fail = (message: string): void => {
      log.warn({ client_id: agent?.clientId, problem: message }, 'control channel refused');
      send({ type: 'error', message });
      channel.end();
      client.end();
    };
    const splitter = new LineSplitter((line) => {
      const m = parseJson(line);
      if (!m) return fail('a control line is not a JSON object');
      if (agent) {
        if (m.type === 'progress') agent.progress(m.req_id, m.bytes);
        else if (m.type === 'result') agent.result(m.req_id, m.status, m.message);
        else send({ type: 'error', message: `unknown message type ${JSON.stringify(m.type)}` });
        return;
      }
      const info = parseHello(m);
      if (typeof info === 'string') return fail(info);
      if (this.channels.has(info.id)) return fail(`client id ${info.id} is already connected`);
      const connected = new AgentConnection(info.id, channel);
      this.channels.add(connected);
      agent = connected;
      const announced = this.deps.presence.announce(info);
      onAgent(connected, announced);
      announced
        .then(() => {
          log.info({ client_id: info.id, name: info.name, hostname: info.hostname }, 'client connected');
          send({ type: 'welcome', protocol: PROTOCOL_VERSION, max_read: MAX_READ });
        })
        .catch((e: unknown) => {
          fail(`the server could not register client ${info.id}: ${messageOf(e)}`);
        });
    }, fail);
    channel.on('data', (chunk: Buffer) => splitter.push(chunk));
    channel.on('error', () => undefined);
    // The control channel is the agent's presence: without it, the connection has no purpose.
    channel.on('close', () => client.end());
  }
}
