import { WebSocketServer } from 'ws';
import type { ServerConfig } from '../../adapters/config/server-config.ts';
import type { HttpServer } from '../../adapters/http/http-server.ts';
import type { ClientChannels } from '../../ports/client-channel.ts';
import type { ClientCredentials } from '../../ports/client-credentials.ts';
import type { ClientPresence } from '../../ports/client-presence.ts';
import type { Logger } from '../../ports/logger.ts';
import type { LiveTransfers } from '../../ports/live-transfers.ts';
import { DEFAULT_AUTH_GUARD } from '../../adapters/auth/auth-guard.ts';
import { startClientListener } from './agent-listener.ts';

/** Agents reach rportd over SSH tunnelled in a WebSocket on the API port at this path (`[client] server = "ws://host:port/api/v1/ws/agents"`). */
export const AGENT_WS_PATH = '/api/v1/ws/agents';

export interface ClientSideDeps {
  config: ServerConfig;
  presence: ClientPresence;
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
  const s = d.config.server;
  const listener = await startClientListener({
    config: {
      address: s.address,
      dataDir: s.data_dir,
      settings: {
        keepaliveIntervalMs: s.keep_alive * 1000,
        maxHandshakes: s.max_concurrent_handshakes,
        handshakeTimeoutMs: s.handshake_timeout * 1000,
        maxTransfers: s.push_concurrency,
        auth: { ...DEFAULT_AUTH_GUARD, maxFailures: s.max_failed_login, banMs: s.ban_time * 1000 },
      },
    },
    credentials: d.credentials,
    presence: d.presence,
    transfers: d.transfers,
    stagingDir: d.stagingDir,
    logger: d.logger,
  });
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
