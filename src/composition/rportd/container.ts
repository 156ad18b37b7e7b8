import { Container, ContainerModule } from 'inversify';
import type Koa from 'koa';
import type { ServerConfig } from '../../adapters/config/server-config.ts';
import { StaticApiUser, StaticCredentials, readAuthFile } from '../../adapters/config/server-static-auth.ts';
import { loadOrCreateJwtSecret } from '../../adapters/config/server-jwt-secret.ts';
import type { FsStagingStore } from '../../adapters/fs/fs-staging-store.ts';
import { AuthGuard } from '../../adapters/auth/auth-guard.ts';
import { LoggedOutcomes } from '../../adapters/log/logged-outcomes.ts';
import { ApiAuth } from '../../adapters/http/api-auth.ts';
import { createHttpApp } from '../../adapters/http/http-app.ts';
import { InMemoryLiveTransfers } from '../../adapters/memory/in-memory-live-transfers.ts';
import type { SqliteDb } from '../../adapters/sqlite/sqlite-database.ts';
import { RandomUuidGenerator } from '../../adapters/system/random-uuid-generator.ts';
import { SystemClock } from '../../adapters/system/system-clock.ts';
import { WsResultBroadcaster } from '../../adapters/ws/ws-result-broadcaster.ts';
import type { NatsHealth } from '../../adapters/nats/nats-health.ts';
import type { NatsLink } from '../../adapters/nats/nats-link.ts';
import type { LocalBroadcaster, NatsOutcomeRelay } from '../../adapters/nats/nats-outcome-relay.ts';
import type { AcceptUpload } from '../../domain/accept-upload.ts';
import { ClientIdentity } from '../../domain/client-identity.ts';
import type { DispatchSettings, DispatchToClients } from '../../domain/dispatch-to-clients.ts';
import { EndStrandedPushes } from '../../domain/end-stranded-pushes.ts';
import type { OfflineDelivery } from '../../domain/offline-delivery.ts';
import type { ReportResult } from '../../domain/report-result.ts';
import type { RetryPush } from '../../domain/retry-push.ts';
import { ServeOnConnect } from '../../domain/serve-on-connect.ts';
import type { StagedRetention } from '../../domain/staged-retention.ts';
import type { DatabaseHealth } from '../../ports/database-health.ts';
import type { StagingStore } from '../../ports/staging-store.ts';
import type { DeliveryQueue, UploadArchive } from '../../ports/delivery-queue.ts';
import type { ApiUserDirectory } from '../../ports/api-user-directory.ts';
import type { ClientCredentials } from '../../ports/client-credentials.ts';
import type { ClientPresence } from '../../ports/client-presence.ts';
import type { Clock } from '../../ports/clock.ts';
import type { IdGenerator } from '../../ports/id-generator.ts';
import type { LiveTransfers } from '../../ports/live-transfers.ts';
import type { ResultBroadcaster } from '../../ports/result-broadcaster.ts';
import type { Logger } from '../../ports/logger.ts';
import { constant, provide, provideRecord, token } from '../shared/typed-wiring.ts';
import type { FieldRules } from '../../domain/upload-fields.ts';
import { useCaseModule } from '../shared/use-case-wiring.ts';
import { clusterEventsModule } from './cluster-events.ts';
import type { ClusterRouting } from './cluster-routing.ts';
import type { ClusterStores } from './cluster-stores.ts';
import { LateClientChannels, LateCredentialSessions, RevokingCredentialEditor } from './late-bindings.ts';
import {
  storeModule,
  type DbApiUsers,
  type DbAuditLog,
  type DbClientCredentials,
  type DbClientGroups,
  type DbClientKeys,
  type DbClientRegistry,
  type DbResults,
  type DbUserGroups,
} from './store-bindings.ts';

/** What rportd's start-up takes from the graph, in one piece. */
export interface Rportd {
  db: SqliteDb;
  staging: FsStagingStore;
  apiUsers: DbApiUsers;
  /** Run at start, before the API and the agents' side open. */
  endStranded: EndStrandedPushes;
  /** Run at start after endStranded, in this order: the queue takes its holds, then the kept files. */
  offline: OfflineDelivery;
  /** Outcomes of targets a cluster node takes over from a node that stopped. */
  report: ReportResult;
  retention: StagedRetention;
  app: Koa;
  auth: ApiAuth;
  broadcaster: WsResultBroadcaster;
  /** With `[cluster] nats_url`: outcomes and progress to and from the other nodes, and NATS's health. */
  relay: NatsOutcomeRelay | undefined;
  natsHealth: NatsHealth | undefined;
  presence: ClientPresence;
  identity: ClientIdentity;
  credentials: ClientCredentials;
  transfers: LiveTransfers;
  /** Pointed at the agents' side once it runs (the use cases are built before it). */
  channels: LateClientChannels;
  sessions: LateCredentialSessions;
}

/** rportd's token table: one token per binding, typed with what it is bound to. */
export const T = {
  config: token<ServerConfig>('ServerConfig'),
  logger: token<Logger>('Logger'),
  clock: token<Clock>('Clock'),
  ids: token<IdGenerator>('IdGenerator'),
  db: token<SqliteDb>('SqliteDb'),
  staging: token<FsStagingStore>('StagingStore'),
  /** What the use cases stage with: the local store, or on a cluster node one that also publishes. */
  useCaseStaging: token<StagingStore>('UseCaseStagingStore'),
  users: token<ApiUserDirectory>('ApiUserDirectory'),
  dbUsers: token<DbApiUsers>('DbApiUsers'),
  userGroups: token<DbUserGroups>('UserGroups'),
  registry: token<DbClientRegistry>('ClientRegistry'),
  groups: token<DbClientGroups>('ClientGroupStore'),
  credentials: token<ClientCredentials>('ClientCredentials'),
  /** The database's client credentials (SQLite or PostgreSQL), editable through the API. */
  dbCredentials: token<DbClientCredentials>('DbClientCredentials'),
  clientKeys: token<DbClientKeys>('ClientKeys'),
  identity: token<ClientIdentity>('ClientIdentity'),
  results: token<DbResults>('ResultStore'),
  audit: token<DbAuditLog>('AuditLog'),
  broadcaster: token<WsResultBroadcaster>('ResultBroadcaster'),
  natsHealth: token<NatsHealth | undefined>('NatsHealth'),
  relay: token<NatsOutcomeRelay | undefined>('NatsOutcomeRelay'),
  /** Where outcomes and progress go: the local listeners, and with NATS the other nodes' too. */
  events: token<LocalBroadcaster>('ClusterEvents'),
  /** What the use cases publish to: the broadcaster behind a line in the log per outcome. */
  outcomes: token<ResultBroadcaster>('LoggedOutcomes'),
  transfers: token<LiveTransfers>('LiveTransfers'),
  channels: token<LateClientChannels>('ClientChannels'),
  sessions: token<LateCredentialSessions>('CredentialSessions'),
  dispatchSettings: token<DispatchSettings>('DispatchSettings'),
  maxUploadBytes: token<number>('MaxUploadBytes'),
  fieldRules: token<FieldRules>('FieldRules'),
  report: token<ReportResult>('ReportResult'),
  dispatch: token<DispatchToClients>('DispatchToClients'),
  accept: token<AcceptUpload>('AcceptUpload'),
  endStranded: token<EndStrandedPushes>('EndStrandedPushes'),
  queue: token<DeliveryQueue>('DeliveryQueue'),
  archive: token<UploadArchive>('UploadArchive'),
  /** Whether the database answers: GET /api/v1/health, and uploads refused while it does not. */
  dbHealth: token<DatabaseHealth>('DatabaseHealth'),
  keepStagedMs: token<number>('KeepStagedMs'),
  retention: token<StagedRetention>('StagedRetention'),
  offline: token<OfflineDelivery>('OfflineDelivery'),
  retry: token<RetryPush>('RetryPush'),
  presence: token<ClientPresence>('ClientPresence'),
  auth: token<ApiAuth>('ApiAuth'),
  app: token<Koa>('KoaApp'),
  rportd: token<Rportd>('Rportd'),
};

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

/** The HTTP API, and the record start-up takes. */
const httpModule = new ContainerModule(({ bind }) => {
  provide(
    bind,
    T.app,
    [
      T.config,
      T.auth,
      T.accept,
      T.results,
      T.audit,
      T.registry,
      T.groups,
      T.logger,
      T.dbCredentials,
      T.sessions,
      T.dbUsers,
      T.userGroups,
      T.identity,
      T.retry,
      T.dbHealth,
      T.natsHealth,
    ],
    (
      c,
      auth,
      accept,
      results,
      audit,
      registry,
      groups,
      logger,
      credentials,
      sessions,
      users,
      userGroups,
      identity,
      retry,
      database,
      nats,
    ) =>
      createHttpApp({
        auth,
        acceptUpload: accept,
        retryPush: retry,
        results,
        audit,
        clients: registry,
        groups,
        clientAuth:
          c.server.auth || c.server.auth_file
            ? undefined
            : new RevokingCredentialEditor(credentials, sessions),
        // With [api] auth the one user lives in rportd.conf: the users API answers 400 then.
        userAdmin: c.api.auth ? undefined : { users, groups: userGroups },
        identity,
        logger,
        enableTestEndpoints: c.server.enable_ws_test_endpoints,
        health: { nodeId: c.cluster.node_id, database, ...(nats ? { nats } : {}) },
      }),
  );
  provideRecord(bind, T.rportd, {
    db: T.db,
    staging: T.staging,
    apiUsers: T.dbUsers,
    endStranded: T.endStranded,
    offline: T.offline,
    report: T.report,
    retention: T.retention,
    app: T.app,
    auth: T.auth,
    broadcaster: T.broadcaster,
    relay: T.relay,
    natsHealth: T.natsHealth,
    presence: T.presence,
    identity: T.identity,
    credentials: T.credentials,
    transfers: T.transfers,
    channels: T.channels,
    sessions: T.sessions,
  });
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
    httpModule,
  );
  return container;
}
