/**
 * Which client may fetch which staged file right now. Dispatch grants before it asks a client to
 * fetch and revokes when the client has answered; the SFTP server asks before opening anything.
 */
export interface LiveTransfers {
  grant(clientId: string, stagedName: string): void;
  revoke(clientId: string, stagedName: string): void;
  isAllowed(clientId: string, stagedName: string): boolean;
}
