import { Container, ContainerModule } from 'inversify';
import type { ServerConfig } from '../../adapters/config/server-config.ts';
import { StaticApiUser, StaticCredentials, readAuthFile } from '../../adapters/config/server-static-auth.ts';
import { loadOrCreateJwtSecret } from '../../adapters/config/server-jwt-secret.ts';
import { FsStagingStore } from '../../adapters/fs/fs-staging-store.ts';
import { AuthGuard } from '../../adapters/auth/auth-guard.ts';
import { ApiAuth } from '../../adapters/http/api-auth.ts';
import type { ApiUserDirectory } from '../../ports/api-user-directory.ts';
import { createHttpApp } from '../../adapters/http/http-app.ts';
import type { HttpAppDeps } from '../../adapters/http/http-app-deps.ts';
import { SqliteApiUsers } from '../../adapters/sqlite/sqlite-api-users.ts';
import { SqliteAuditLog } from '../../adapters/sqlite/sqlite-audit-log.ts';
import { SqliteClientCredentials } from '../../adapters/sqlite/sqlite-client-credentials.ts';
import { SqliteClientGroupStore } from '../../adapters/sqlite/sqlite-client-group-store.ts';
import { SqliteClientRegistry } from '../../adapters/sqlite/sqlite-client-registry.ts';
import { openSqliteDatabase, type SqliteDb } from '../../adapters/sqlite/sqlite-database.ts';
import { SqliteResultStore } from '../../adapters/sqlite/sqlite-result-store.ts';
import { WsResultBroadcaster } from '../../adapters/ws/ws-result-broadcaster.ts';
import { AcceptUpload } from '../../domain/accept-upload.ts';
import { DispatchToClients } from '../../domain/dispatch-to-clients.ts';
import { ReportResult } from '../../domain/report-result.ts';
import type { ClientChannels } from '../../ports/client-channel.ts';
import type { ClientCredentials } from '../../ports/client-credentials.ts';
import type { Clock } from '../../ports/clock.ts';
import type { IdGenerator } from '../../ports/id-generator.ts';
import type { Logger } from '../../ports/logger.ts';
import type { LiveTransfers } from '../../ports/live-transfers.ts';
import type Koa from 'koa';
import { join } from 'node:path';
import { InMemoryLiveTransfers } from '../../adapters/memory/in-memory-live-transfers.ts';
import { RandomUuidGenerator } from '../../adapters/system/random-uuid-generator.ts';
import { SystemClock } from '../../adapters/system/system-clock.ts';
import {
  LateClientChannels,
  LateCredentialSessions,
  RevokingCredentialEditor,
  type CredentialSessions,
} from './late-bindings.ts';

export const T = {
  config: Symbol('ServerConfig'),
  logger: Symbol('Logger'),
  clock: Symbol('Clock'),
  ids: Symbol('IdGenerator'),
  db: Symbol('SqliteDb'),
  staging: Symbol('StagingStore'),
  users: Symbol('ApiUserDirectory'),
  dbUsers: Symbol('SqliteApiUsers'),
  registry: Symbol('ClientRegistry'),
  groups: Symbol('ClientGroupStore'),
  credentials: Symbol('ClientCredentials'),
  results: Symbol('ResultStore'),
  audit: Symbol('AuditLog'),
  broadcaster: Symbol('ResultBroadcaster'),
  transfers: Symbol('LiveTransfers'),
  channels: Symbol('ClientChannels'),
  sessions: Symbol('CredentialSessions'),
  report: Symbol('ReportResult'),
  dispatch: Symbol('DispatchToClients'),
  accept: Symbol('AcceptUpload'),
  auth: Symbol('ApiAuth'),
  app: Symbol('KoaApp'),
};

/** SQLite in data_dir and the staged files: everything that persists. */
const storageModule = new ContainerModule(({ bind }) => {
  bind<SqliteDb>(T.db).toResolvedValue(
    (c: ServerConfig) => openSqliteDatabase(c.server.data_dir),
    [T.config],
  );
  bind(T.staging).toResolvedValue(
    (c: ServerConfig) => new FsStagingStore(join(c.server.data_dir, 'filepush')),
    [T.config],
  );
  bind(T.dbUsers).toResolvedValue((db: SqliteDb) => new SqliteApiUsers(db), [T.db]);
  bind(T.registry).toResolvedValue((db: SqliteDb) => new SqliteClientRegistry(db), [T.db]);
  bind(T.groups).toResolvedValue((db: SqliteDb) => new SqliteClientGroupStore(db), [T.db]);
  bind(T.results).toResolvedValue((db: SqliteDb) => new SqliteResultStore(db), [T.db]);
  bind(T.audit).toResolvedValue((db: SqliteDb) => new SqliteAuditLog(db), [T.db]);
});

/** Who may log in (API users) and who may connect (client credentials), per rportd.conf. */
const identityModule = new ContainerModule(({ bind }) => {
  bind<ApiUserDirectory>(T.users).toResolvedValue(
    (c: ServerConfig, db: SqliteApiUsers) => (c.api.auth ? new StaticApiUser(c.api.auth) : db),
    [T.config, T.dbUsers],
  );
  bind<ClientCredentials>(T.credentials).toResolvedValue(
    (c: ServerConfig, db: SqliteDb) => {
      if (c.server.auth) return new StaticCredentials([c.server.auth]);
      if (c.server.auth_file) return new StaticCredentials(readAuthFile(c.server.auth_file));
      return new SqliteClientCredentials(db);
    },
    [T.config, T.db],
  );
  bind(T.auth).toResolvedValue(
    (c: ServerConfig, users: ApiUserDirectory) =>
      new ApiAuth(
        users,
        loadOrCreateJwtSecret(c.server.data_dir, c.api.jwt_secret),
        c.api.token_lifetime,
        // Its own guard, not the SSH listener's: an admin's typos never ban the agents' address, nor the reverse.
        new AuthGuard({
          maxFailures: c.api.max_failed_login,
          banMs: c.api.ban_time * 1000,
          failureDelayMs: 0,
        }),
        c.api.ban_time,
      ),
    [T.config, T.users],
  );
});

/** The use cases: accept, dispatch, report. */
const useCaseModule = new ContainerModule(({ bind }) => {
  bind<LiveTransfers>(T.transfers).toConstantValue(new InMemoryLiveTransfers());
  bind(T.broadcaster).toResolvedValue(
    (reg: SqliteClientRegistry, groups: SqliteClientGroupStore, logger: Logger) =>
      new WsResultBroadcaster(reg, groups, logger),
    [T.registry, T.groups, T.logger],
  );
  bind(T.report).toResolvedValue(
    (results: SqliteResultStore, b: WsResultBroadcaster, audit: SqliteAuditLog, clock: Clock) =>
      new ReportResult(results, b, audit, clock),
    [T.results, T.broadcaster, T.audit, T.clock],
  );
  bind(T.dispatch).toResolvedValue(
    (
      ch: ClientChannels,
      tr: LiveTransfers,
      st: FsStagingStore,
      report: ReportResult,
      clock: Clock,
      logger: Logger,
      c: ServerConfig,
    ) =>
      new DispatchToClients(ch, tr, st, report, clock, logger, {
        concurrency: c.server.push_concurrency,
        timeoutMs: c.server.push_timeout * 1000,
      }),
    [T.channels, T.transfers, T.staging, T.report, T.clock, T.logger, T.config],
  );
  bind(T.accept).toResolvedValue(
    (
      st: FsStagingStore,
      reg: SqliteClientRegistry,
      g: SqliteClientGroupStore,
      r: SqliteResultStore,
      a: SqliteAuditLog,
      d: DispatchToClients,
      ids: IdGenerator,
      clock: Clock,
      c: ServerConfig,
    ) => new AcceptUpload(st, reg, g, r, a, d, ids, clock, c.server.max_filepush_size),
    [T.staging, T.registry, T.groups, T.results, T.audit, T.dispatch, T.ids, T.clock, T.config],
  );
});

const httpModule = new ContainerModule(({ bind }) => {
  bind<Koa>(T.app).toResolvedValue(
    (
      c: ServerConfig,
      auth: ApiAuth,
      accept: AcceptUpload,
      results: SqliteResultStore,
      audit: SqliteAuditLog,
      reg: SqliteClientRegistry,
      groups: SqliteClientGroupStore,
      logger: Logger,
      credentials: ClientCredentials,
      sessions: CredentialSessions,
    ) =>
      createHttpApp({
        auth,
        acceptUpload: accept,
        results,
        audit,
        clients: reg,
        groups,
        clientAuth:
          credentials instanceof SqliteClientCredentials
            ? new RevokingCredentialEditor(credentials, sessions)
            : undefined,
        logger,
        enableTestEndpoints: c.server.enable_ws_test_endpoints,
      } satisfies HttpAppDeps),
    [
      T.config,
      T.auth,
      T.accept,
      T.results,
      T.audit,
      T.registry,
      T.groups,
      T.logger,
      T.credentials,
      T.sessions,
    ],
  );
});

/** The server's object graph; T.channels is a LateClientChannels, pointed at the agents' listener once it runs. */
export async function buildServerContainer(config: ServerConfig, logger: Logger): Promise<Container> {
  const container = new Container({ defaultScope: 'Singleton' });
  container.bind(T.config).toConstantValue(config);
  container.bind(T.logger).toConstantValue(logger);
  container.bind(T.clock).toConstantValue(new SystemClock());
  container.bind(T.ids).toConstantValue(new RandomUuidGenerator());
  container.bind<ClientChannels>(T.channels).toConstantValue(new LateClientChannels());
  container.bind<CredentialSessions>(T.sessions).toConstantValue(new LateCredentialSessions());
  await container.load(storageModule, identityModule, useCaseModule, httpModule);
  return container;
}
