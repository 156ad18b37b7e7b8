import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InMemoryResultStore } from '../../src/adapters/memory/in-memory-result-store.ts';
import { PostgresAuditLog } from '../../src/adapters/postgres/postgres-audit-log.ts';
import { PostgresResultStore } from '../../src/adapters/postgres/postgres-result-store.ts';
import { SqliteAuditLog } from '../../src/adapters/sqlite/sqlite-audit-log.ts';
import { openSqliteDatabase } from '../../src/adapters/sqlite/sqlite-database.ts';
import { SqliteResultStore } from '../../src/adapters/sqlite/sqlite-result-store.ts';
import type { AuditLog } from '../../src/ports/audit-log.ts';
import type { ResultStore } from '../../src/ports/result-store.ts';
import { sharedPostgres, testDatabase, type TestPostgres } from '../support/postgres.ts';
import { uploadResultsContract, type SeededUpload } from './upload-results.contract.ts';

/** As AcceptUpload does: the targets, then the accepted entry; a rejection under the same uuid is no upload. */
const seedThroughAudit =
  (store: ResultStore, audit: AuditLog) =>
  async (u: SeededUpload): Promise<void> => {
    await store.begin(u.uuid, u.targets);
    await audit.record({
      timestamp: u.createdAt,
      application: 'uploads',
      action: 'rejected',
      username: 'mallory',
      upload_uuid: `${u.uuid}-other`,
      request: {},
    });
    await audit.record({
      timestamp: u.createdAt,
      application: 'uploads',
      action: 'accepted',
      username: u.requestedBy,
      upload_uuid: u.uuid,
      request: u.request,
    });
  };

uploadResultsContract('SqliteResultStore (real better-sqlite3 in a temp data_dir)', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'rportd-results-'));
  const db = openSqliteDatabase(dir);
  const store = new SqliteResultStore(db);
  return {
    store,
    seed: seedThroughAudit(store, new SqliteAuditLog(db)),
    cleanup: async () => {
      db.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
});

uploadResultsContract('InMemoryResultStore (in-memory fake)', async () => {
  const store = new InMemoryResultStore();
  return {
    store,
    seed: async (u) => {
      await store.begin(u.uuid, u.targets, u.requestedBy, { createdAt: u.createdAt, request: u.request });
    },
    cleanup: async () => undefined,
  };
});

describe('on PostgreSQL', function () {
  let server: TestPostgres;
  before(async function () {
    server = await sharedPostgres(this, 'the UploadResults contract on PostgreSQL');
  });
  uploadResultsContract('PostgresResultStore (a private PostgreSQL server)', async () => {
    const t = await testDatabase(server);
    const store = new PostgresResultStore(t.db);
    return { store, seed: seedThroughAudit(store, new PostgresAuditLog(t.db)), cleanup: t.cleanup };
  });
});
