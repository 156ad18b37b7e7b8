import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InMemoryClientKeys } from '../../src/adapters/memory/in-memory-client-keys.ts';
import { PostgresClientKeys } from '../../src/adapters/postgres/postgres-client-keys.ts';
import { SqliteClientKeys } from '../../src/adapters/sqlite/sqlite-client-keys.ts';
import { openSqliteDatabase, type SqliteDb } from '../../src/adapters/sqlite/sqlite-database.ts';
import { sharedPostgres, testDatabase, type TestPostgres } from '../support/postgres.ts';
import { clientKeysContract } from './client-keys.contract.ts';

clientKeysContract('SqliteClientKeys (real better-sqlite3 in a temp data_dir)', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'rportd-keys-'));
  const open: SqliteDb[] = [openSqliteDatabase(dir)];
  return {
    keys: new SqliteClientKeys(open[0]),
    reopen: async () => {
      open[0].close();
      open[0] = openSqliteDatabase(dir);
      return new SqliteClientKeys(open[0]);
    },
    cleanup: async () => {
      open[0].close();
      await rm(dir, { recursive: true, force: true });
    },
  };
});

clientKeysContract('InMemoryClientKeys (in-memory adapter)', async () => {
  const keys = new InMemoryClientKeys();
  return { keys, reopen: async () => keys, cleanup: async () => undefined };
});

describe('on PostgreSQL', function () {
  let server: TestPostgres;
  before(async function () {
    server = await sharedPostgres(this, 'the ClientKeys contract on PostgreSQL');
  });
  clientKeysContract('PostgresClientKeys (a private PostgreSQL server)', async () => {
    const t = await testDatabase(server);
    return {
      keys: new PostgresClientKeys(t.db),
      reopen: async () => new PostgresClientKeys(await t.reopen()),
      cleanup: t.cleanup,
    };
  });
});
