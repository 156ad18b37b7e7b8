import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PostgresApiUsers } from '../../src/adapters/postgres/postgres-api-users.ts';
import { PostgresClientCredentials } from '../../src/adapters/postgres/postgres-client-credentials.ts';
import { PostgresUserGroups } from '../../src/adapters/postgres/postgres-user-groups.ts';
import { SqliteApiUsers } from '../../src/adapters/sqlite/sqlite-api-users.ts';
import { SqliteClientCredentials } from '../../src/adapters/sqlite/sqlite-client-credentials.ts';
import { openSqliteDatabase } from '../../src/adapters/sqlite/sqlite-database.ts';
import { SqliteUserGroups } from '../../src/adapters/sqlite/sqlite-user-groups.ts';
import { sharedPostgres, testDatabase, type TestPostgres } from '../support/postgres.ts';
import { apiUsersContract } from './api-users.contract.ts';
import { clientCredentialsContract } from './client-credentials.contract.ts';

// Users and client credentials live only in a database (the `[api] auth` and `[server] auth`
// alternatives are fixed values, not stores): there is no in-memory adapter to run.
async function sqlite() {
  const dir = await mkdtemp(join(tmpdir(), 'rportd-users-'));
  const db = openSqliteDatabase(dir);
  return {
    db,
    cleanup: async () => {
      db.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

apiUsersContract('SqliteApiUsers and SqliteUserGroups (real better-sqlite3)', async () => {
  const { db, cleanup } = await sqlite();
  return { users: new SqliteApiUsers(db), groups: new SqliteUserGroups(db), cleanup };
});

clientCredentialsContract('SqliteClientCredentials (real better-sqlite3)', async () => {
  const { db, cleanup } = await sqlite();
  return {
    credentials: new SqliteClientCredentials(db),
    raw: async () => JSON.stringify(db.prepare('SELECT * FROM client_credentials').all()),
    cleanup,
  };
});

describe('on PostgreSQL', function () {
  let server: TestPostgres;
  before(async function () {
    server = await sharedPostgres(this, 'the user and credential contracts on PostgreSQL');
  });
  apiUsersContract('PostgresApiUsers and PostgresUserGroups (a private PostgreSQL server)', async () => {
    const t = await testDatabase(server);
    return { users: new PostgresApiUsers(t.db), groups: new PostgresUserGroups(t.db), cleanup: t.cleanup };
  });
  clientCredentialsContract('PostgresClientCredentials (a private PostgreSQL server)', async () => {
    const t = await testDatabase(server);
    return {
      credentials: new PostgresClientCredentials(t.db),
      raw: async () => JSON.stringify((await t.db.query('SELECT * FROM client_credentials')).rows),
      cleanup: t.cleanup,
    };
  });
});
