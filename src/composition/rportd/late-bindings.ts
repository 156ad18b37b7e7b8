import type { ClientChannels } from '../../ports/client-channel.ts';
import type { ClientCredentialEditor } from '../../ports/client-credentials.ts';

/** No client is connected: every push gets "not connected". For running the API without an agent listener. */
const noClientChannels: ClientChannels = { channelFor: () => undefined };

/**
 * ClientChannels whose source is set once the agents' listener runs: the use cases are built
 * before it (the listener needs the registry they share), and see it as soon as it is set.
 */
export class LateClientChannels implements ClientChannels {
  source: ClientChannels = noClientChannels;
  channelFor(clientId: string): ReturnType<ClientChannels['channelFor']> {
    return this.source.channelFor(clientId);
  }
}

/** Ends the agents' connections that logged in with a client credential (the SSH listener does). */
export interface CredentialSessions {
  endSessionsOf(credentialId: string): number;
}

/** CredentialSessions set once the agents' listener runs (like LateClientChannels); none before. */
export class LateCredentialSessions implements CredentialSessions {
  source: CredentialSessions | undefined;
  endSessionsOf(credentialId: string): number {
    return this.source?.endSessionsOf(credentialId) ?? 0;
  }
}

/**
 * The API's editor of the database's client credentials: removing one also ends the connections of
 * agents that logged in with it, so a revoked credential does not stay in use until they reconnect.
 */
export class RevokingCredentialEditor implements ClientCredentialEditor {
  constructor(
    private readonly credentials: ClientCredentialEditor,
    private readonly sessions: CredentialSessions,
  ) {}
  list(): Promise<string[]> {
    return this.credentials.list();
  }
  add(id: string, password: string): Promise<boolean> {
    return this.credentials.add(id, password);
  }
  async remove(id: string): Promise<boolean> {
    const removed = await this.credentials.remove(id);
    if (removed) this.sessions.endSessionsOf(id);
    return removed;
  }
}
