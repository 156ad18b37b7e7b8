/**
 * The agent listener's settings, in a file of their own so that each of its parts (handshake queue,
 * login, channel policy) can name the few it reads without importing the listener that wires them.
 */
import { DEFAULT_AUTH_GUARD } from '../../auth/auth-guard.ts';
import type { PenaltySettings } from '../../auth/penalty-rules.ts';
import { LOOPBACK_RANGES } from '../../auth/address-list.ts';

export interface AgentListenerSettings {
  /**
   * Time from TCP accept to a finished login, queue wait included (it does not restart when the
   * connection gets a slot); then the same again for the hello. Slower peers are dropped.
   */
  handshakeTimeoutMs: number;
  /** Connections handshaking at once (bounds the CPU spent on key exchange); more wait in a queue. */
  maxHandshakes: number;
  /** Connections waiting, paused, for their first bytes or a slot once the slots are taken; beyond this they are dropped at accept. */
  maxQueuedHandshakes: number;
  /** Connections from one address before login (queued or handshaking); beyond this they are dropped at accept. */
  maxHandshakesPerAddress: number;
  /** Addresses (CIDR, or a bare address) maxHandshakesPerAddress does not apply to; loopback by default (see handshake-queue.ts). */
  handshakeCapExempt: readonly string[];
  /** Proxies (CIDR) whose connections start with a PROXY protocol header naming the real peer; none by default. */
  proxyProtocolFrom: readonly string[];
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
  auth: PenaltySettings;
}

export const DEFAULT_LISTENER_SETTINGS: AgentListenerSettings = {
  handshakeTimeoutMs: 20_000,
  maxHandshakes: 64,
  maxQueuedHandshakes: 4096,
  maxHandshakesPerAddress: 8,
  handshakeCapExempt: LOOPBACK_RANGES,
  proxyProtocolFrom: [],
  keepaliveIntervalMs: 15_000,
  keepaliveCountMax: 3,
  maxTransfers: 32,
  maxReads: 64,
  maxChannelsPerConnection: 64,
  maxRefusals: 32,
  maxAuthFailuresPerConnection: 3,
  auth: DEFAULT_AUTH_GUARD,
};
