import { randomUUID } from 'node:crypto';
import type { ClientChannels } from '../ports/client-channel.ts';
import type { Clock, IdGenerator } from '../ports/clock.ts';
import type { LiveTransfers } from '../ports/live-transfers.ts';

// Minimal runtime pieces of the server root. src/adapters/memory was still empty when this was
// written; swap these for its classes once they exist.

export const systemClock: Clock = {
  now: () => new Date(),
  sleep: (ms, signal) =>
    new Promise((resolve, reject) => {
      if (signal?.aborted) return reject(signal.reason);
      const t = setTimeout(resolve, ms);
      signal?.addEventListener('abort', () => (clearTimeout(t), reject(signal.reason)), { once: true });
    }),
};

export const uuidIds: IdGenerator = { newId: () => randomUUID() };

/** Which client may fetch which staged file right now. */
export class SetLiveTransfers implements LiveTransfers {
  private readonly granted = new Set<string>();
  grant(clientId: string, stagedName: string): void {
    this.granted.add(`${clientId}\0${stagedName}`);
  }
  revoke(clientId: string, stagedName: string): void {
    this.granted.delete(`${clientId}\0${stagedName}`);
  }
  isAllowed(clientId: string, stagedName: string): boolean {
    return this.granted.has(`${clientId}\0${stagedName}`);
  }
}

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
