// Where rportd keeps its state: SQLite in data_dir (the default), or the shared PostgreSQL database
// that `[cluster] database_url` names. Either way the same tokens are bound, so nothing past this
// module knows which; only the PostgreSQL stores are opened before the container (they connect).
import { ContainerModule } from 'inversify';
import { join } from 'node:path';
import type { ServerConfig } from '../../adapters/config/server-config.ts';
import { FsStagingStore } from '../../adapters/fs/fs-staging-store.ts';
import type { PostgresApiUsers } from '../../adapters/postgres/postgres-api-users.ts';
import type { PostgresAuditLog } from '../../adapters/postgres/postgres-audit-log.ts';
import type { PostgresClientCredentials } from '../../adapters/postgres/postgres-client-credentials.ts';
import type { PostgresClientGroupStore } from '../../adapters/postgres/postgres-client-group-store.ts';
import type { PostgresClientKeys } from '../../adapters/postgres/postgres-client-keys.ts';
import type { PostgresClientRegistry } from '../../adapters/postgres/postgres-client-registry.ts';
import type { PostgresResultStore } from '../../adapters/postgres/postgres-result-store.ts';
import type { PostgresUserGroups } from '../../adapters/postgres/postgres-user-groups.ts';
import { SqliteApiUsers } from '../../adapters/sqlite/sqlite-api-users.ts';
import { SqliteAuditLog } from '../../adapters/sqlite/sqlite-audit-log.ts';
import { SqliteClientCredentials } from '../../adapters/sqlite/sqlite-client-credentials.ts';
import { SqliteClientGroupStore } from '../../adapters/sqlite/sqlite-client-group-store.ts';
import { SqliteClientKeys } from '../../adapters/sqlite/sqlite-client-keys.ts';
import { SqliteClientRegistry } from '../../adapters/sqlite/sqlite-client-registry.ts';
import { openSqliteDatabase, type SqliteDb } from '../../adapters/sqlite/sqlite-database.ts';
import { SqliteHealth } from '../../adapters/sqlite/sqlite-health.ts';
import { SqliteDeliveryQueue } from '../../adapters/sqlite/sqlite-delivery-queue.ts';
import { SqliteResultStore } from '../../adapters/sqlite/sqlite-result-store.ts';
import { SqliteUploadArchive } from '../../adapters/sqlite/sqlite-upload-archive.ts';
import { SqliteUserGroups } from '../../adapters/sqlite/sqlite-user-groups.ts';
import type { DatabaseHealth } from '../../ports/database-health.ts';
import type { DeliveryQueue, UploadArchive } from '../../ports/delivery-queue.ts';
import type { StagingStore } from '../../ports/staging-store.ts';
import { constant, provide, type Token } from '../shared/typed-wiring.ts';
import type { ClusterStores } from './cluster-stores.ts';

export type DbApiUsers = SqliteApiUsers | PostgresApiUsers;
export type DbUserGroups = SqliteUserGroups | PostgresUserGroups;
export type DbClientRegistry = SqliteClientRegistry | PostgresClientRegistry;
export type DbClientGroups = SqliteClientGroupStore | PostgresClientGroupStore;
export type DbClientCredentials = SqliteClientCredentials | PostgresClientCredentials;
export type DbClientKeys = SqliteClientKeys | PostgresClientKeys;
export type DbResults = SqliteResultStore | PostgresResultStore;
export type DbAuditLog = SqliteAuditLog | PostgresAuditLog;

/** The tokens of rportd's table that this module binds. */
interface StoreTokens {
  config: Token<ServerConfig>;
  db: Token<SqliteDb>;
  staging: Token<FsStagingStore>;
  useCaseStaging: Token<StagingStore>;
  dbUsers: Token<DbApiUsers>;
  userGroups: Token<DbUserGroups>;
  registry: Token<DbClientRegistry>;
  groups: Token<DbClientGroups>;
  dbCredentials: Token<DbClientCredentials>;
  clientKeys: Token<DbClientKeys>;
  results: Token<DbResults>;
  audit: Token<DbAuditLog>;
  queue: Token<DeliveryQueue>;
  archive: Token<UploadArchive>;
  dbHealth: Token<DatabaseHealth>;
}

/** The offline queue and kept uploads, when this build's PostgreSQL stores hold them too. */
interface SharedQueue {
  queue?: DeliveryQueue;
  archive?: UploadArchive;
}

/**
 * Binds every store: on `pg` when given (opened by start-up, for `[cluster] database_url`), else on
 * SQLite. rportd.db in data_dir is opened either way: without PostgreSQL stores for the offline
 * queue and the kept uploads, those stay in it, per node, beside the staged files they name.
 */
export function storeModule(
  t: StoreTokens,
  pg?: ClusterStores,
  sharedStaging?: StagingStore,
): ContainerModule {
  return new ContainerModule(({ bind }) => {
    provide(bind, t.db, [t.config], (c) => openSqliteDatabase(c.server.data_dir));
    provide(bind, t.staging, [t.config], (c) => new FsStagingStore(join(c.server.data_dir, 'filepush')));
    // On a cluster node (`[cluster] nats_url`) the use cases also publish what they stage.
    if (sharedStaging) constant(bind, t.useCaseStaging, sharedStaging);
    else provide(bind, t.useCaseStaging, [t.staging], (s) => s);
    const shared = pg as SharedQueue | undefined;
    if (shared?.queue && shared.archive) {
      constant(bind, t.queue, shared.queue);
      constant(bind, t.archive, shared.archive);
    } else {
      provide(bind, t.queue, [t.db], (db) => new SqliteDeliveryQueue(db));
      provide(bind, t.archive, [t.db], (db) => new SqliteUploadArchive(db));
    }
    constant(bind, t.dbHealth, pg ? pg.health : new SqliteHealth());
    if (pg) {
      constant(bind, t.dbUsers, pg.apiUsers);
      constant(bind, t.userGroups, pg.userGroups);
      constant(bind, t.registry, pg.registry);
      constant(bind, t.groups, pg.groups);
      constant(bind, t.dbCredentials, pg.credentials);
      constant(bind, t.clientKeys, pg.clientKeys);
      constant(bind, t.results, pg.results);
      constant(bind, t.audit, pg.audit);
      return;
    }
    provide(bind, t.dbUsers, [t.db], (db) => new SqliteApiUsers(db));
    provide(bind, t.userGroups, [t.db], (db) => new SqliteUserGroups(db));
    provide(bind, t.registry, [t.db], (db) => new SqliteClientRegistry(db));
    provide(bind, t.groups, [t.db], (db) => new SqliteClientGroupStore(db));
    provide(bind, t.dbCredentials, [t.db], (db) => new SqliteClientCredentials(db));
    provide(bind, t.clientKeys, [t.db], (db) => new SqliteClientKeys(db));
    provide(bind, t.results, [t.db], (db) => new SqliteResultStore(db));
    provide(bind, t.audit, [t.db], (db) => new SqliteAuditLog(db));
  });
}
