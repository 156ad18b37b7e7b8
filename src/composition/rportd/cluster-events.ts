// Where outcomes and progress go: this node's WebSocket listeners, and with `[cluster] nats_url`
// the other nodes' listeners too, through NATS; and NATS's health, which /health shows and uploads
// wait for.
import { ContainerModule } from 'inversify';
import type { ServerConfig } from '../../adapters/config/server-config.ts';
import { NatsHealth } from '../../adapters/nats/nats-health.ts';
import type { NatsLink } from '../../adapters/nats/nats-link.ts';
import { NatsOutcomeRelay, type LocalBroadcaster } from '../../adapters/nats/nats-outcome-relay.ts';
import type { WsResultBroadcaster } from '../../adapters/ws/ws-result-broadcaster.ts';
import type { Logger } from '../../ports/logger.ts';
import { provide, type Token } from '../shared/typed-wiring.ts';
import { NATS_KEY } from './cluster-nats.ts';

interface EventTokens {
  config: Token<ServerConfig>;
  logger: Token<Logger>;
  broadcaster: Token<WsResultBroadcaster>;
  natsHealth: Token<NatsHealth | undefined>;
  relay: Token<NatsOutcomeRelay | undefined>;
  events: Token<LocalBroadcaster>;
}

/** Binds the relay in place of the plain broadcaster when `nats` (opened by start-up) is given. */
export function clusterEventsModule(t: EventTokens, nats?: NatsLink): ContainerModule {
  return new ContainerModule(({ bind }) => {
    provide(bind, t.natsHealth, [t.config, t.logger], (c, logger) =>
      nats === undefined
        ? undefined
        : // An outage is logged once when it starts and once when it ends.
          new NatsHealth(nats.connection, {
            onChange: (s) =>
              s.ok
                ? logger.info({ node_id: c.cluster.node_id }, 'NATS answers again; uploads are accepted')
                : logger.warn(
                    { node_id: c.cluster.node_id, reason: s.detail },
                    `NATS unreachable; uploads are refused with 503 until it answers (${NATS_KEY})`,
                  ),
          }),
    );
    provide(bind, t.relay, [t.broadcaster, t.natsHealth, t.config, t.logger], (ws, health, c, logger) =>
      nats === undefined
        ? undefined
        : new NatsOutcomeRelay(ws, nats.connection, {
            nodeId: c.cluster.node_id,
            logger,
            connected: () => health?.connected ?? true,
          }),
    );
    provide(bind, t.events, [t.relay, t.broadcaster], (relay, ws) => relay ?? ws);
  });
}
