import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InMemoryClientRegistry } from '../../src/adapters/memory/in-memory-client-registry.ts';
import { PostgresClientRegistry } from '../../src/adapters/postgres/postgres-client-registry.ts';
import { SqliteClientRegistry } from '../../src/adapters/sqlite/sqlite-client-registry.ts';
import { openSqliteDatabase, type SqliteDb } from '../../src/adapters/sqlite/sqlite-database.ts';
import { sharedPostgres, testDatabase, type TestPostgres } from '../support/postgres.ts';
import { clientRegistryContract } from './client-registry.contract.ts';

clientRegistryContract('InMemoryClientRegistry (in-memory adapter)', async () => ({
  registry: new InMemoryClientRegistry(),
  cleanup: async () => undefined,
}));

clientRegistryContract('SqliteClientRegistry (real better-sqlite3 in a temp data_dir)', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'rportd-registry-'));
  const open: SqliteDb[] = [openSqliteDatabase(dir)];
  return {
    registry: new SqliteClientRegistry(open[0]),
    reopen: async () => {
      open[0].close();
      open[0] = openSqliteDatabase(dir);
      return new SqliteClientRegistry(open[0]);
    },
    cleanup: async () => {
      open[0].close();
      await rm(dir, { recursive: true, force: true });
    },
  };
});

describe('on PostgreSQL', function () {
  let server: TestPostgres;
  before(async function () {
    server = await sharedPostgres(this, 'the ClientRegistry contract on PostgreSQL');
  });
  clientRegistryContract('PostgresClientRegistry (a private PostgreSQL server, one node)', async () => {
    const t = await testDatabase(server);
    return {
      registry: await PostgresClientRegistry.open(t.db, 'node-1'),
      reopen: async () => PostgresClientRegistry.open(await t.reopen(), 'node-1'),
      cleanup: t.cleanup,
    };
  });
});
