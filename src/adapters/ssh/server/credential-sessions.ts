/**
 * Which connections logged in with which client credential, and which credentials were removed
 * when: removing a credential must end the sessions already in on it, and must also stop a login
 * whose password check was still running. Separate because it outlives any one connection and is
 * driven from the HTTP API (a credential removed), not by the SSH peer.
 */
import type { Connection } from 'ssh2';
import type { Logger } from '../../../ports/logger.ts';

export class CredentialSessions {
  /** Logged-in connections by the client credential they used, so that removing a credential ends them. */
  private readonly byCredential = new Map<string, Set<Connection>>();
  /** Removals so far, and the number of the last removal of each removed credential: a password check that began before it does not let the login in. */
  private removals = 0;
  private readonly removedAt = new Map<string, number>();
  /** The credential each logged-in connection used (the audit of its hello names it). */
  private readonly credentialOf = new WeakMap<Connection, string>();

  constructor(private readonly logger: Logger) {}

  /** Taken when a password check begins; hand it to removedSince once the check said yes. */
  mark(): number {
    return this.removals;
  }

  /** True if the credential was removed after the mark was taken. */
  removedSince(credentialId: string, mark: number): boolean {
    return (this.removedAt.get(credentialId) ?? 0) > mark;
  }

  /** The connection logged in with this credential: it is ended if the credential is removed. */
  loggedIn(credentialId: string, client: Connection): void {
    this.credentialOf.set(client, credentialId);
    let set = this.byCredential.get(credentialId);
    if (!set) this.byCredential.set(credentialId, (set = new Set()));
    set.add(client);
    client.once('close', () => {
      set.delete(client);
      if (set.size === 0 && this.byCredential.get(credentialId) === set)
        this.byCredential.delete(credentialId);
    });
  }

  /** The client credential the connection logged in with ('' before its login). */
  credentialIdOf(client: Connection): string {
    return this.credentialOf.get(client) ?? '';
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
      this.logger.info(
        { credential_id: credentialId, connections: connections.length },
        'ended the connections of a removed client credential',
      );
    return connections.length;
  }
}
