import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InMemoryClientGroupStore } from '../../src/adapters/memory/in-memory-client-group-store.ts';
import { PostgresClientGroupStore } from '../../src/adapters/postgres/postgres-client-group-store.ts';
import { SqliteClientGroupStore } from '../../src/adapters/sqlite/sqlite-client-group-store.ts';
import { openSqliteDatabase } from '../../src/adapters/sqlite/sqlite-database.ts';
import { sharedPostgres, testDatabase, type TestPostgres } from '../support/postgres.ts';
import { clientGroupsContract } from './client-groups.contract.ts';

clientGroupsContract('InMemoryClientGroupStore (in-memory adapter)', async () => {
  const store = new InMemoryClientGroupStore();
  return { store, seed: async (g) => store.put(g), cleanup: async () => undefined };
});

clientGroupsContract('SqliteClientGroupStore (real better-sqlite3 in a temp data_dir)', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'rportd-groups-'));
  const db = openSqliteDatabase(dir);
  const store = new SqliteClientGroupStore(db);
  return {
    store,
    editor: store,
    seed: async (g) => void (await store.create(g)),
    cleanup: async () => {
      db.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
});

describe('on PostgreSQL', function () {
  let server: TestPostgres;
  before(async function () {
    server = await sharedPostgres(this, 'the ClientGroupStore contract on PostgreSQL');
  });
  clientGroupsContract('PostgresClientGroupStore (a private PostgreSQL server)', async () => {
    const t = await testDatabase(server);
    const store = new PostgresClientGroupStore(t.db);
    return { store, editor: store, seed: async (g) => void (await store.create(g)), cleanup: t.cleanup };
  });
});
