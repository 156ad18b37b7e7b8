import type { ClientInfo } from './client.ts';
import type { ClientPresence } from '../ports/client-presence.ts';
import type { Clock } from '../ports/clock.ts';
import type { Logger } from '../ports/logger.ts';
import { messageOf } from './errors.ts';
import type { OfflineDelivery } from './offline-delivery.ts';

/**
 * Server: the agents' side tells presence when a client announces itself; this passes that on and
 * then serves the client's queued targets. They are served a timer's turn later, once the client
 * has been welcomed (the welcome follows the announce), never in the announce's own path: a slow
 * queue must not delay a client's registration.
 */
export class ServeOnConnect implements ClientPresence {
  constructor(
    private readonly inner: ClientPresence,
    private readonly offline: OfflineDelivery,
    private readonly clock: Clock,
    private readonly logger: Logger,
  ) {}

  async announce(info: Omit<ClientInfo, 'connected'>): Promise<void> {
    await this.inner.announce(info);
    void this.clock
      .sleep(0)
      .then(() => this.offline.serve(info.id))
      .then((ended) => {
        if (ended > 0)
          this.logger.info({ client_id: info.id, targets: ended }, 'served queued targets on connect');
      })
      .catch((e: unknown) =>
        this.logger.error({ client_id: info.id, err: messageOf(e) }, 'serving queued targets failed'),
      );
  }

  disconnected(id: string): Promise<void> {
    return this.inner.disconnected(id);
  }
}
