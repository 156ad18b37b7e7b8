import type { WebSocket } from 'ws';
import type { ClientChannels } from '../../ports/client-channel.ts';
import type { ClientCredentials } from '../../ports/client-credentials.ts';
import type { ClientPresence } from '../../ports/client-presence.ts';
import type { Logger } from '../../ports/logger.ts';
import type { LiveTransfers } from '../../ports/live-transfers.ts';
import { loadOrCreateHostKey } from '../../adapters/ssh/host-key.ts';
import { acceptAgentWebSocket } from '../../adapters/ssh/server/websocket-agents.ts';
import { warnIfNoCryptoBinding } from '../../adapters/ssh/ssh-algorithms.ts';
import { AgentListener, type AgentListenerSettings } from '../../adapters/ssh/server/agent-listener.ts';
import { ScavengePacer, SERVER_SCAVENGE_EVERY } from '../../adapters/system/scavenge-pacer.ts';

export interface ClientListenerConfig {
  /** `[server] address`: "host:port" where agents connect (default 0.0.0.0:8080); undefined = WebSocket only. */
  address?: string;
  /** `[server] data_dir`: the host key lives here. */
  dataDir: string;
  settings?: Partial<AgentListenerSettings>;
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
  close(): Promise<void>;
}

export interface ClientListenerDependencies {
  config: ClientListenerConfig;
  credentials: ClientCredentials;
  presence: ClientPresence;
  transfers: LiveTransfers;
  /** `{data_dir}/filepush`: where staged files are read from. */
  stagingDir: string;
  logger: Logger;
}

/** Starts rportd's SSH client listener: host key (made on first start), TCP listener, SFTP confinement. */
export async function startClientListener(d: ClientListenerDependencies): Promise<StartedClientListener> {
  warnIfNoCryptoBinding(d.logger);
  const hostKey = await loadOrCreateHostKey(d.config.dataDir);
  const listener = new AgentListener({
    hostKey,
    credentials: d.credentials,
    presence: d.presence,
    transfers: d.transfers,
    stagingDir: d.stagingDir,
    logger: d.logger,
    settings: d.config.settings,
    // One per rportd: a young-generation GC every 8 MiB served bounds ssh2's floating packet garbage.
    pacer: new ScavengePacer(SERVER_SCAVENGE_EVERY),
  });
  let port = 0;
  if (d.config.address !== undefined) {
    const { host, port: wanted } = splitAddress(d.config.address);
    port = await listener.listen(wanted, host);
  }
  d.logger.info(
    { address: d.config.address, port, fingerprint: hostKey.fingerprint },
    `client listener ready; host key fingerprint ${hostKey.fingerprint}`,
  );
  return {
    channels: listener.channels,
    fingerprint: hostKey.fingerprint,
    port,
    acceptWebSocket: (ws, address) => acceptAgentWebSocket(listener, ws, address),
    endSessionsOf: (credentialId) => listener.endSessionsOf(credentialId),
    close: () => listener.close(),
  };
}

/** "host:port", "[::1]:port" or ":port"; throws naming `[server] address`. */
export function splitAddress(address: string): { host: string; port: number } {
  const m = /^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]*):(\d{1,5})$/.exec(address);
  const port = m ? Number(m[2]) : NaN;
  if (!m || port > 65535)
    throw new Error(`[server] address "${address}" must be "host:port", e.g. "0.0.0.0:8080"`);
  return { host: m[1] === '' ? '0.0.0.0' : m[1].replace(/^\[|\]$/g, ''), port };
}
