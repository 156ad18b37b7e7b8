import { WebSocketServer, type WebSocket } from 'ws';
import { DEFAULT_AUTH_GUARD } from '../../adapters/auth/auth-guard.ts';
import { parseAddress } from '../../adapters/config/server-config-values.ts';
import type { ServerConfig, ServerSection } from '../../adapters/config/server-config.ts';
import type { HttpServer } from '../../adapters/http/http-server.ts';
import { loadOrCreateHostKey } from '../../adapters/ssh/host-key.ts';
import { AgentListener, type AgentListenerSettings } from '../../adapters/ssh/server/agent-listener.ts';
import { acceptAgentWebSocket } from '../../adapters/ssh/server/websocket-agents.ts';
import { loadOrCreateFileTlsCertificate } from '../../adapters/tls/file-tls-certificate.ts';
import { FileTlsListener, type FileTlsSettings } from '../../adapters/tls/file-tls-listener.ts';
import { warnIfNoCryptoBinding } from '../../adapters/ssh/ssh-algorithms.ts';
import { dataDirKey, listenError, naming } from './start-errors.ts';
import { ScavengePacer, SERVER_SCAVENGE_EVERY } from '../../adapters/system/scavenge-pacer.ts';
import type { ClientChannels } from '../../ports/client-channel.ts';
import type { ClientCredentials } from '../../ports/client-credentials.ts';
import type { ClientPresence } from '../../ports/client-presence.ts';
import type { LiveTransfers } from '../../ports/live-transfers.ts';
import type { Logger } from '../../ports/logger.ts';
import type { ClientIdentity } from '../../domain/client-identity.ts';

/** Agents reach rportd over SSH tunnelled in a WebSocket on the API port at this path (`[client] server = "ws://host:port/api/v1/ws/agents"`). */
const AGENT_WS_PATH = '/api/v1/ws/agents';

interface ClientSideDeps {
  config: ServerConfig;
  presence: ClientPresence;
  identity: ClientIdentity;
  credentials: ClientCredentials;
  transfers: LiveTransfers;
  stagingDir: string;
  http: HttpServer;
  logger: Logger;
}

/** Where the server's line to the agents comes from; swap it (tests, simulation) by passing another. */
export interface ClientSide {
  channels: ClientChannels;
  /** Ends the connections that logged in with a removed client credential (absent where there is no login, e.g. in-memory sides). */
  endSessionsOf?(credentialId: string): number;
  close(): Promise<void>;
}

export type ClientSideFactory = (d: ClientSideDeps) => Promise<ClientSide>;

/** Production: the SSH client listener on `[server] address`, plus SSH-over-WebSocket on the API port. */
export const sshClientSide: ClientSideFactory = async (d) => {
  const listener = await startClientListener({ ...d, config: listenerConfigOf(d.config.server) });
  const wss = new WebSocketServer({ noServer: true });
  d.http.onUpgrade(AGENT_WS_PATH, (req, socket, head) =>
    wss.handleUpgrade(req, socket, head, (ws) =>
      listener.acceptWebSocket(ws, req.socket.remoteAddress ?? 'unknown'),
    ),
  );
  return {
    channels: listener.channels,
    endSessionsOf: (credentialId) => listener.endSessionsOf(credentialId),
    close: async () => {
      for (const ws of wss.clients) ws.terminate();
      await listener.close();
    },
  };
};

interface ClientListenerConfig {
  /** `[server] address`: "host:port" where agents connect; undefined = WebSocket only. */
  address?: string;
  /** `[server] data_dir`: the host key lives here. */
  dataDir: string;
  settings?: Partial<AgentListenerSettings>;
  /**
   * `[server] file_tls`, `file_tls_address` and the cert/key files: the TLS fetch, off when absent;
   * without an address it is served on the SSH port.
   */
  fileTls?: {
    address?: string;
    certFile?: string;
    keyFile?: string;
    /** `[server] file_tls_min_size`: smaller pushes go by SFTP. */
    minSize?: number;
    settings?: Partial<FileTlsSettings>;
  };
}

/** The one place the `[server]` keys become the agents' listener's settings. */
function listenerConfigOf(s: ServerSection): ClientListenerConfig {
  return {
    address: s.address,
    dataDir: s.data_dir,
    fileTls: s.file_tls
      ? {
          address: s.file_tls_address,
          certFile: s.file_tls_cert_file,
          keyFile: s.file_tls_key_file,
          minSize: s.file_tls_min_size,
        }
      : undefined,
    settings: {
      keepaliveIntervalMs: s.keep_alive * 1000,
      maxHandshakes: s.max_concurrent_handshakes,
      maxHandshakesPerAddress: s.max_handshakes_per_address,
      handshakeTimeoutMs: s.handshake_timeout * 1000,
      maxTransfers: s.push_concurrency,
      proxyProtocolFrom: s.proxy_protocol_from,
      auth: {
        ...DEFAULT_AUTH_GUARD,
        maxFailures: s.max_failed_login,
        banMs: s.ban_time * 1000,
        exempt: s.ban_exempt,
      },
    },
  };
}

export interface StartedClientListener {
  channels: ClientChannels;
  /** The host key's `SHA256:…` fingerprint, for agents' `[client] fingerprint`. */
  fingerprint: string;
  /** The bound TCP port (0 when listening on WebSocket only). */
  port: number;
  /** Hand it each upgraded WebSocket on the agents' path (SSH over WebSocket). */
  acceptWebSocket(ws: WebSocket, address: string): void;
  /** Ends the connections that logged in with this client credential; returns how many. */
  endSessionsOf(credentialId: string): number;
  /** The file-fetch TLS listener, when `[server] file_tls` is on (on the SSH port, or its own). */
  fileTls?: FileTlsListener;
  close(): Promise<void>;
}

interface ClientListenerDependencies {
  config: ClientListenerConfig;
  credentials: ClientCredentials;
  presence: ClientPresence;
  /** Which agent key each client id belongs to. */
  identity: ClientIdentity;
  transfers: LiveTransfers;
  /** `{data_dir}/filepush`: where staged files are read from. */
  stagingDir: string;
  logger: Logger;
}

/** Starts rportd's SSH client listener: host key (made on first start), TCP listener, SFTP confinement. */
export async function startClientListener(d: ClientListenerDependencies): Promise<StartedClientListener> {
  warnIfNoCryptoBinding(d.logger);
  const hostKey = await naming(dataDirKey(d.config.dataDir), () => loadOrCreateHostKey(d.config.dataDir));
  const fileTls = d.config.fileTls && (await startFileTls(d.config.fileTls, d.config.dataDir, d.logger));
  const listener = new AgentListener({
    fileTls,
    fileTlsOnSshPort: fileTls !== undefined && d.config.fileTls?.address === undefined,
    fileTlsMinSize: d.config.fileTls?.minSize,
    hostKey,
    credentials: d.credentials,
    presence: d.presence,
    identity: d.identity,
    transfers: d.transfers,
    stagingDir: d.stagingDir,
    logger: d.logger,
    settings: d.config.settings,
    // One per rportd: a young-generation GC every 8 MiB served bounds ssh2's floating packet garbage.
    pacer: new ScavengePacer(SERVER_SCAVENGE_EVERY),
  });
  let port = 0;
  const address = d.config.address;
  if (address !== undefined) {
    const { host, port: wanted } = parseAddress(address, '[server] address');
    port = await listener.listen(wanted, host).catch(async (e: unknown) => {
      await listener.close();
      await fileTls?.close();
      throw listenError('[server] address', address, e);
    });
  }
  d.logger.info(
    { address: d.config.address, port, fingerprint: hostKey.fingerprint },
    `client listener ready; host key fingerprint ${hostKey.fingerprint}`,
  );
  if (fileTls) announceFileTls(fileTls, d.config.fileTls?.address, d.logger);
  return {
    channels: listener.channels,
    fingerprint: hostKey.fingerprint,
    port,
    acceptWebSocket: (ws, address) => acceptAgentWebSocket(listener, ws, address),
    endSessionsOf: (credentialId) => listener.endSessionsOf(credentialId),
    fileTls,
    close: async () => {
      await listener.close();
      await fileTls?.close();
    },
  };
}

/**
 * The file-fetch TLS listener: its certificate (made in data_dir unless the admin gave one), then
 * its own port when file_tls_address names one (otherwise it takes its connections from the SSH port).
 */
async function startFileTls(
  c: NonNullable<ClientListenerConfig['fileTls']>,
  dataDir: string,
  logger: Logger,
): Promise<FileTlsListener> {
  const files = c.certFile && c.keyFile ? { certFile: c.certFile, keyFile: c.keyFile } : undefined;
  const cert = await naming(files ? '[server] file_tls_cert_file' : dataDirKey(dataDir), () =>
    loadOrCreateFileTlsCertificate(dataDir, files),
  );
  const tls = new FileTlsListener(cert, logger, c.settings);
  const address = c.address;
  if (address === undefined) return tls;
  const { host, port: wanted } = parseAddress(address, '[server] file_tls_address');
  await tls.listen(wanted, host).catch((e: unknown) => {
    throw listenError('[server] file_tls_address', address, e);
  });
  return tls;
}

/**
 * Said after the client listener's line: operators (and the README) take the first fingerprint
 * in the log as the host key's, which agents pin.
 */
function announceFileTls(tls: FileTlsListener, address: string | undefined, logger: Logger): void {
  if (address === undefined)
    return logger.info(
      { fingerprint: tls.fingerprint },
      'file TLS fetch on the SSH port: agents that can are offered their pushes over TLS',
    );
  logger.info(
    { address, port: tls.port, fingerprint: tls.fingerprint },
    'file TLS listener ready: agents that can are offered their pushes over TLS',
  );
}
