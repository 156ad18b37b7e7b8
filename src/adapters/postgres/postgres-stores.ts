import { PostgresApiUsers } from './postgres-api-users.ts';
import { PostgresAuditLog } from './postgres-audit-log.ts';
import { PostgresClientCredentials } from './postgres-client-credentials.ts';
import { PostgresClientGroupStore } from './postgres-client-group-store.ts';
import { PostgresClientKeys } from './postgres-client-keys.ts';
import { PostgresClientRegistry } from './postgres-client-registry.ts';
import { openPostgresDatabase, type PgDb, type PostgresOptions } from './postgres-database.ts';
import { PostgresDeliveryQueue } from './postgres-delivery-queue.ts';
import { PostgresNodeLiveness } from './postgres-node-liveness.ts';
import { PostgresResultStore } from './postgres-result-store.ts';
import { PostgresUploadArchive } from './postgres-upload-archive.ts';
import { PostgresUserGroups } from './postgres-user-groups.ts';

/** Every store rportd keeps, on one shared PostgreSQL database. */
export interface PostgresStores {
  db: PgDb;
  apiUsers: PostgresApiUsers;
  userGroups: PostgresUserGroups;
  credentials: PostgresClientCredentials;
  groups: PostgresClientGroupStore;
  registry: PostgresClientRegistry;
  results: PostgresResultStore;
  audit: PostgresAuditLog;
  clientKeys: PostgresClientKeys;
  queue: PostgresDeliveryQueue;
  archive: PostgresUploadArchive;
  /** This node's heartbeat; the queue judges other nodes' claims by it. */
  liveness: PostgresNodeLiveness;
  close(): Promise<void>;
}

/**
 * Opens the database at `url` (migrating its schema) and the stores on it, for node `nodeId`:
 * what rportd's composition binds in place of the SQLite adapters when `[cluster]` names a database.
 */
export async function openPostgresStores(
  url: string,
  nodeId: string,
  opts: PostgresOptions = {},
): Promise<PostgresStores> {
  const db = await openPostgresDatabase(url, opts);
  try {
    const liveness = new PostgresNodeLiveness(db, nodeId);
    return {
      db,
      apiUsers: new PostgresApiUsers(db),
      userGroups: new PostgresUserGroups(db),
      credentials: new PostgresClientCredentials(db),
      groups: new PostgresClientGroupStore(db),
      registry: await PostgresClientRegistry.open(db, nodeId),
      results: new PostgresResultStore(db, nodeId),
      audit: new PostgresAuditLog(db),
      clientKeys: new PostgresClientKeys(db),
      queue: new PostgresDeliveryQueue(db, nodeId, liveness),
      archive: new PostgresUploadArchive(db, nodeId),
      liveness,
      close: () => db.end(),
    };
  } catch (e) {
    await db.end().catch(() => undefined);
    throw e;
  }
}
