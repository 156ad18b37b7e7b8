import { createServer, type AddressInfo, type Server as NetServer, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import ssh2, { type Connection, type SFTPWrapper } from 'ssh2';
import type { ClientCredentials } from '../../../ports/client-credentials.ts';
import type { ClientPresence } from '../../../ports/client-presence.ts';
import type { Logger } from '../../../ports/logger.ts';
import type { LiveTransfers } from '../../../ports/live-transfers.ts';
import type { ClientIdentity } from '../../../domain/client-identity.ts';
import { messageOf } from '../../../domain/errors.ts';
import { startsWithTls } from '../../net/first-byte.ts';
import { ProxyProtocolGate } from '../../net/proxy-protocol-gate.ts';
import { fastSigningHostKey, type HostKey } from '../host-key.ts';
import { MAX_READ } from '../protocol.ts';
import { SSH_ALGORITHMS } from '../ssh-algorithms.ts';
import { corked, socketOf } from '../ssh-socket.ts';
import { fasterKeyExchange } from '../ssh2-key-paths.ts';
import { AgentChannels } from './agent-channels.ts';
import type { AgentConnection } from './agent-connection.ts';
import { AgentLogin } from './agent-login.ts';
import { ChannelPolicy } from './channel-policy.ts';
import { serveConfinedSftp } from './confined-sftp.ts';
import { ControlChannel } from './control-channel.ts';
import { CredentialSessions } from './credential-sessions.ts';
import { HandshakeQueue } from './handshake-queue.ts';
import { PushGrants } from './push-grants.ts';
import { DEFAULT_LISTENER_SETTINGS, type AgentListenerSettings } from './listener-settings.ts';
import { ReadBuffers } from './read-buffers.ts';
import { StagedContents } from './staged-contents.ts';
import { TransferSlots } from './transfer-slots.ts';
import type { FetchOffer } from '../../tls/fetch-offer.ts';
import type { FetchGrant } from '../../tls/fetch-tokens.ts';

export { DEFAULT_LISTENER_SETTINGS, type AgentListenerSettings } from './listener-settings.ts';

export interface AgentListenerDeps {
  hostKey: HostKey;
  credentials: ClientCredentials;
  presence: ClientPresence;
  /** Which agent key each client id belongs to: checked at every hello. */
  identity: ClientIdentity;
  transfers: LiveTransfers;
  stagingDir: string;
  logger: Logger;
  settings?: Partial<AgentListenerSettings>;
  /** Told every SFTP byte sent, to pace young-generation GCs (ScavengePacer); none in tests. */
  pacer?: { moved(bytes: number): void };
  /** rportd's file TLS listener (`[server] file_tls`, `file_tls_address`): pushes are offered over it too. */
  fileTls?: FileTlsPort;
  /**
   * `[server] file_tls` without file_tls_address: the TLS fetch comes to this listener's own port,
   * told from SSH by its first byte, and offers name the port the agent reached.
   */
  fileTlsOnSshPort?: boolean;
  /** Pushes of fewer bytes get no TLS offer and go by SFTP (`[server] file_tls_min_size`); none when absent. */
  fileTlsMinSize?: number;
}

/** What the listener needs of the file TLS listener (FileTlsListener). */
export interface FileTlsPort {
  /** sshPort: the offer is for the SSH port the agent reached, with no host of its own. */
  offer(grant: FetchGrant, sshPort?: number): FetchOffer;
  revoke(clientId: string, name: string): void;
  /** A connection that reached the SSH port and opened with a TLS record. */
  take(socket: Socket, address: string): void;
}

/**
 * rportd's agent listener: an ssh2 Server that speaks only docs/protocol.md to agents. It wires
 * its parts together: the handshake queue, the login, the sessions of each credential, the channel
 * policy and the control channel, each in its own file.
 */
export class AgentListener {
  readonly channels = new AgentChannels();
  readonly settings: AgentListenerSettings;
  private readonly ssh: ssh2.Server;
  private readonly handshakes: HandshakeQueue;
  private readonly credentialSessions: CredentialSessions;
  private readonly login: AgentLogin;
  private readonly slots: TransferSlots;
  private readonly buffers: ReadBuffers;
  /** Small staged files in memory while they are fetched: a fan-out reads each from disk once. */
  private readonly contents = new StagedContents();
  private readonly tcp: NetServer[] = [];
  /** `[server] proxy_protocol_from`: reads a trusted proxy's header before the handshake queue sees the socket. */
  private readonly proxyGate: ProxyProtocolGate;
  /** The connections whose agent already tells its grants when a push is settled. */
  private readonly followed = new WeakSet<PushGrants>();
  /** Raw TCP connections (not WebSocket streams): only these may carry the TLS fetch on this port. */
  private readonly tcpSockets = new WeakSet<Duplex>();

  constructor(private readonly deps: AgentListenerDeps) {
    this.settings = { ...DEFAULT_LISTENER_SETTINGS, ...deps.settings };
    this.credentialSessions = new CredentialSessions(deps.logger);
    this.login = new AgentLogin(this.settings, deps.credentials, this.credentialSessions, deps.logger);
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
    this.proxyGate = new ProxyProtocolGate(
      { from: this.settings.proxyProtocolFrom, key: '[server] proxy_protocol_from' },
      deps.logger,
    );
    this.handshakes = new HandshakeQueue(this.settings, (stream) => this.route(stream), deps.logger);
  }

  get fingerprint(): string {
    return this.deps.hostKey.fingerprint;
  }

  /** Listens for raw TCP SSH; resolves with the bound port. */
  listen(port: number, host: string): Promise<number> {
    const server = createServer((socket) =>
      this.proxyGate.take(socket, (address) => {
        this.tcpSockets.add(socket);
        this.accept(socket, address);
      }),
    );
    this.tcp.push(server);
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        resolve((server.address() as AddressInfo).port);
      });
    });
  }

  /**
   * Takes any duplex carrying SSH (TCP socket, WebSocket stream, in-memory pair) from a peer at
   * address; the handshake queue may drop it at once (per-address cap, full queue).
   */
  accept(stream: Duplex, address: string): void {
    if (this.handshakes.closed || this.login.isBanned(address)) return void stream.destroy();
    this.handshakes.admit(stream, address);
  }

  /** Connections waiting for a handshake slot now. */
  get queuedHandshakes(): number {
    return this.handshakes.queued;
  }

  /**
   * Ends every connection that logged in with this client credential (it was removed: an agent
   * already in must not stay in on it). Returns how many were ended; their agents retry and are
   * refused from then on.
   */
  endSessionsOf(credentialId: string): number {
    return this.credentialSessions.endSessionsOf(credentialId);
  }

  /** Stops listening and drops every agent. */
  async close(): Promise<void> {
    const stopped = Promise.all(
      this.tcp.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))),
    );
    // net.Server#close waits for open connections, so drop them first.
    this.proxyGate.close();
    this.handshakes.close();
    await stopped;
  }

  /**
   * A connection that has a handshake slot and has sent its first bytes. On raw TCP with the TLS
   * fetch on this port, a TLS record goes to the file TLS listener, under that listener's own bounds,
   * and its slot is freed at once; anything else is SSH. The TLS listener being off, 0x16 goes to
   * ssh2 too, which refuses it as no SSH identification.
   */
  private route(stream: Duplex): void {
    const tls = this.deps.fileTls;
    if (tls && this.deps.fileTlsOnSshPort && this.tcpSockets.has(stream) && startsWithTls(stream)) {
      const { address } = this.handshakes.peerOf(stream, undefined);
      this.handshakes.release(stream);
      return tls.take(stream as Socket, address);
    }
    this.ssh.injectSocket(stream as Socket);
  }

  private onConnection(client: Connection, ip: string | undefined): void {
    // The stream ssh2 was given is how we find our peer record.
    const stream = socketOf(client);
    const peer = this.handshakes.peerOf(stream, ip);
    const log = this.deps.logger;
    const grants = new PushGrants({
      stagingDir: this.deps.stagingDir,
      slots: this.slots,
      contents: this.contents,
    });
    const control = new ControlChannel(
      client,
      peer.address,
      {
        channels: this.channels,
        presence: this.deps.presence,
        identity: this.deps.identity,
        logger: log,
        onAgent: (agent) => this.offerTls(agent, grants, stream),
      },
      () => clearTimeout(peer.timer), // the hello timer ('ready' came first and freed the handshake slot)
      () => this.credentialSessions.credentialIdOf(client),
    );
    const policy = new ChannelPolicy(client, peer.address, this.settings, log, {
      agent: () => control.agent,
      control: (channel, subsystem) => control.serve(channel, subsystem),
      sftp: (channel, agent) => this.serveSftp(channel, agent, client, grants),
    });

    client.on('error', (e) => {
      log.debug({ address: peer.address, err: messageOf(e) }, 'SSH connection error');
      // On a keepalive timeout ssh2 only end()s: a dead peer never answers that FIN, so the socket
      // would stay half-open, never 'close', and the agent would stay "connected" for good.
      if ((e as { level?: string }).level === 'client-timeout') stream.destroy();
    });
    this.login.attach(client, peer.address);
    client.on('ready', () => {
      fasterKeyExchange(client);
      // The login is done: the key exchange, the CPU the cap is for, is behind us, so the slot goes to
      // the next waiting connection now, not after the control channel and hello (three more round trips).
      this.handshakes.handshakeOver(peer);
      // handshakeOver ended the deadline counted from accept; the hello must still arrive in time.
      peer.timer = setTimeout(() => !control.agent && client.end(), this.settings.handshakeTimeoutMs);
    });
    policy.enforce();
    client.on('close', () => {
      this.handshakes.handshakeOver(peer);
      control.closed(peer.address);
      grants.closeAll();
    });
  }

  /**
   * With the file TLS listener on: each push carries a one-time token, void once the push is settled.
   * On the SSH port, only an agent that came over raw TCP is offered (its stream's local port is
   * the one it reached); a WebSocket agent's port is the API's, where no TLS fetch is served.
   */
  private offerTls(agent: AgentConnection, grants: PushGrants, stream: Duplex): void {
    const tls = this.deps.fileTls;
    if (!tls) return;
    const onSshPort = this.deps.fileTlsOnSshPort === true;
    if (onSshPort && !this.tcpSockets.has(stream)) return;
    const sshPort = onSshPort ? (stream as Socket).localPort : undefined;
    const clientId = agent.clientId;
    const transfers = this.deps.transfers;
    this.followed.add(grants);
    agent.onSettled((name) => {
      grants.settled(name);
      tls.revoke(clientId, name);
    });
    const minSize = this.deps.fileTlsMinSize ?? 0;
    agent.offerFetches((request) =>
      request.size < minSize
        ? undefined
        : tls.offer(
            {
              clientId,
              name: request.sourceName,
              grants,
              isLive: () =>
                agent.isServing(request.sourceName) && transfers.isAllowed(clientId, request.sourceName),
            },
            sshPort,
          ),
    );
  }

  /** An SFTP session of an agent that said hello: it reads only that agent's live staged files. */
  private serveSftp(
    channel: SFTPWrapper,
    agent: AgentConnection,
    client: Connection,
    grants: PushGrants,
  ): void {
    const transfers = this.deps.transfers;
    // Once per connection: a push's file and slot go when its verdict comes, not at the agent's CLOSE.
    if (!this.followed.has(grants)) {
      this.followed.add(grants);
      agent.onSettled((name) => grants.settled(name));
    }
    serveConfinedSftp(channel, {
      clientId: agent.clientId,
      isLive: (name) => agent.isServing(name) && transfers.isAllowed(agent.clientId, name),
      grants,
      buffers: this.buffers,
      corked: (send) => corked(socketOf(client), send),
      logger: this.deps.logger,
      sent: this.deps.pacer && ((bytes: number) => this.deps.pacer!.moved(bytes)),
    });
  }
}
