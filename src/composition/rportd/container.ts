import { Container, ContainerModule } from 'inversify';
import type { ServerConfig } from '../../adapters/config/server-config.ts';
import { StaticApiUser, StaticCredentials, readAuthFile } from '../../adapters/config/server-static-auth.ts';
import { loadOrCreateJwtSecret } from '../../adapters/config/server-jwt-secret.ts';
import { AuthGuard } from '../../adapters/auth/auth-guard.ts';
import { LoggedOutcomes } from '../../adapters/log/logged-outcomes.ts';
import { ApiAuth } from '../../adapters/http/api-auth.ts';
import { InMemoryLiveTransfers } from '../../adapters/memory/in-memory-live-transfers.ts';
import { RandomUuidGenerator } from '../../adapters/system/random-uuid-generator.ts';
import { SystemClock } from '../../adapters/system/system-clock.ts';
import { WsResultBroadcaster } from '../../adapters/ws/ws-result-broadcaster.ts';
import type { NatsLink } from '../../adapters/nats/nats-link.ts';
import { ClientIdentity } from '../../domain/client-identity.ts';
import { EndStrandedPushes } from '../../domain/end-stranded-pushes.ts';
import { ServeOnConnect } from '../../domain/serve-on-connect.ts';
import type { Logger } from '../../ports/logger.ts';
import { constant, provide } from '../shared/typed-wiring.ts';
import { useCaseModule } from '../shared/use-case-wiring.ts';
import { clusterEventsModule } from './cluster-events.ts';
import { httpModule } from './http-bindings.ts';
import type { ClusterRouting } from './cluster-routing.ts';
import type { ClusterStores } from './cluster-stores.ts';
import { LateClientChannels, LateCredentialSessions } from './late-bindings.ts';
import { storeModule } from './store-bindings.ts';
import { T, type Rportd } from './server-tokens.ts';

export { T, type Rportd };

/** Who may log in (API users) and who may connect (client credentials), per rportd.conf. */
const identityModule = new ContainerModule(({ bind }) => {
  provide(bind, T.users, [T.config, T.dbUsers], (c, db) => (c.api.auth ? new StaticApiUser(c.api.auth) : db));
  provide(bind, T.credentials, [T.config, T.dbCredentials], (c, db) => {
    if (c.server.auth) return new StaticCredentials([c.server.auth]);
    if (c.server.auth_file) return new StaticCredentials(readAuthFile(c.server.auth_file));
    return db;
  });
  provide(
    bind,
    T.identity,
    [T.clientKeys, T.audit, T.clock],
    (keys, audit, clock) => new ClientIdentity(keys, audit, clock),
  );
  provide(
    bind,
    T.auth,
    [T.config, T.users, T.logger],
    (c, users, logger) =>
      new ApiAuth(
        users,
        loadOrCreateJwtSecret(c.server.data_dir, c.api.jwt_secret),
        c.api.token_lifetime,
        // Its own guard, not the SSH listener's: an admin's typos never ban the agents' address, nor the reverse.
        new AuthGuard(
          {
            maxFailures: c.api.max_failed_login,
            banMs: c.api.ban_time * 1000,
            failureDelayMs: 0,
          },
          Date.now,
          logger,
        ),
        c.api.ban_time,
      ),
  );
});

/**
 * What the shared use-case wiring needs besides the stores (`[server]` limits, transfers, broadcasts),
 * and rportd's own start-up use case over them.
 */
const distributionModule = new ContainerModule(({ bind }) => {
  provide(bind, T.dispatchSettings, [T.config], (c) => ({
    concurrency: c.server.push_concurrency,
    timeoutMs: c.server.push_timeout * 1000,
    offlineTtl: c.server.offline_ttl,
  }));
  provide(bind, T.keepStagedMs, [T.config], (c) => c.server.keep_staged_for * 1000);
  // The agents' side announces clients here: a client that connects is served its queued targets.
  provide(
    bind,
    T.presence,
    [T.registry, T.offline, T.clock, T.logger],
    (registry, offline, clock, logger) => new ServeOnConnect(registry, offline, clock, logger),
  );
  provide(bind, T.maxUploadBytes, [T.config], (c) => c.server.max_filepush_size);
  provide(bind, T.fieldRules, [T.config], (c) => ({ allowSpecialBits: c.server.allow_special_bits }));
  constant(bind, T.transfers, new InMemoryLiveTransfers());
  provide(
    bind,
    T.endStranded,
    [T.results, T.useCaseStaging, T.report, T.queue, T.archive],
    (results, staging, report, queue, archive) =>
      new EndStrandedPushes(results, staging, report, { queue, archive }),
  );
  provide(bind, T.broadcaster, [T.logger], (logger) => new WsResultBroadcaster(logger));
  // Logged on the node that pushed, once per target; outcomes from other nodes are not logged again.
  provide(bind, T.outcomes, [T.events, T.logger], (events, logger) => new LoggedOutcomes(events, logger));
});

/**
 * The server's object graph; T.channels and T.sessions are pointed at the agents' side once it runs.
 * With `pg` (opened for `[cluster] database_url`) the stores are PostgreSQL's, else SQLite's; with
 * `nats` (`[cluster] nats_url`) outcomes and progress also go to and come from the other nodes, and
 * with `routing` uploads are published to NATS and targets go where their client is.
 */
export function buildServerContainer(
  config: ServerConfig,
  logger: Logger,
  pg?: ClusterStores,
  nats?: NatsLink,
  routing?: ClusterRouting,
): Container {
  const container = new Container({ defaultScope: 'Singleton' });
  const basics = new ContainerModule(({ bind }) => {
    constant(bind, T.config, config);
    constant(bind, T.logger, logger);
    constant(bind, T.clock, new SystemClock());
    constant(bind, T.ids, new RandomUuidGenerator());
    constant(bind, T.channels, new LateClientChannels());
    constant(bind, T.sessions, new LateCredentialSessions());
  });
  container.load(
    basics,
    storeModule(T, pg, routing?.staging),
    identityModule,
    distributionModule,
    clusterEventsModule(T, nats),
    useCaseModule(
      { ...T, staging: T.useCaseStaging, broadcaster: T.outcomes, progress: T.events },
      routing?.delivery,
    ),
    httpModule(T),
  );
  return container;
}
