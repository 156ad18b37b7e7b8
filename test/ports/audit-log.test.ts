import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PostgresAuditLog } from '../../src/adapters/postgres/postgres-audit-log.ts';
import { SqliteAuditLog } from '../../src/adapters/sqlite/sqlite-audit-log.ts';
import { openSqliteDatabase } from '../../src/adapters/sqlite/sqlite-database.ts';
import { sharedPostgres, testDatabase, type TestPostgres } from '../support/postgres.ts';
import { auditLogContract } from './audit-log.contract.ts';

// The in-memory audit log only records (domain tests read its entries): it has no queries to share.
auditLogContract('SqliteAuditLog (real better-sqlite3 in a temp data_dir)', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'rportd-audit-'));
  const db = openSqliteDatabase(dir);
  return {
    log: new SqliteAuditLog(db),
    raw: async () => JSON.stringify(db.prepare('SELECT * FROM audit_log').all()),
    cleanup: async () => {
      db.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
});

describe('on PostgreSQL', function () {
  let server: TestPostgres;
  before(async function () {
    server = await sharedPostgres(this, 'the AuditLog contract on PostgreSQL');
  });
  auditLogContract('PostgresAuditLog (a private PostgreSQL server)', async () => {
    const t = await testDatabase(server);
    return {
      log: new PostgresAuditLog(t.db),
      raw: async () => JSON.stringify((await t.db.query('SELECT * FROM audit_log')).rows),
      cleanup: t.cleanup,
    };
  });
});
