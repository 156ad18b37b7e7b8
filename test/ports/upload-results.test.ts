import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InMemoryResultStore } from '../../src/adapters/memory/in-memory-result-store.ts';
import { SqliteAuditLog } from '../../src/adapters/sqlite/sqlite-audit-log.ts';
import { openSqliteDatabase } from '../../src/adapters/sqlite/sqlite-database.ts';
import { SqliteResultStore } from '../../src/adapters/sqlite/sqlite-result-store.ts';
import { uploadResultsContract } from './upload-results.contract.ts';

uploadResultsContract('SqliteResultStore (real better-sqlite3 in a temp data_dir)', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'rportd-results-'));
  const db = openSqliteDatabase(dir);
  const store = new SqliteResultStore(db);
  const audit = new SqliteAuditLog(db);
  return {
    store,
    // As AcceptUpload does: the targets, then the accepted entry; a rejection under the same uuid is no upload.
    seed: async (u) => {
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
    },
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
