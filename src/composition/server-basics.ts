import type { ClientChannels } from '../ports/client-channel.ts';

/** No client is connected: every push gets "not connected". For running the API without an agent listener. */
export const noClientChannels: ClientChannels = { channelFor: () => undefined };

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
