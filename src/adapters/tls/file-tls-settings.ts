/** The file TLS listener's bounds, in a file of their own so that wiring and tests can name them. */
import { LOOPBACK_RANGES } from '../auth/address-list.ts';

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
