import type { AgentOptions } from 'node:https';

/** How rportcli checks the server's certificate on https:// and wss://. */
export interface TlsOptions {
  /** PEM certificates to trust instead of the system's CAs (--cacert / RPORT_API_CACERT). */
  ca?: Buffer;
  /** Skip the certificate check entirely (--insecure). */
  insecure?: boolean;
}

/** The options node:https and ws take for a TLS connection. */
export const tlsConnectOptions = (
  tls: TlsOptions | undefined,
): Pick<AgentOptions, 'ca' | 'rejectUnauthorized'> => ({
  ...(tls?.ca ? { ca: tls.ca } : {}),
  rejectUnauthorized: !tls?.insecure,
});
