import { expect } from 'chai';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InMemoryDeliveryQueue } from '../../src/adapters/memory/in-memory-delivery-queue.ts';
import { InMemoryResultStore } from '../../src/adapters/memory/in-memory-result-store.ts';
import { InMemoryUploadArchive } from '../../src/adapters/memory/in-memory-upload-archive.ts';
import type { PgDb } from '../../src/adapters/postgres/postgres-database.ts';
import { PostgresDeliveryQueue } from '../../src/adapters/postgres/postgres-delivery-queue.ts';
import { PostgresResultStore } from '../../src/adapters/postgres/postgres-result-store.ts';
import { PostgresUploadArchive } from '../../src/adapters/postgres/postgres-upload-archive.ts';
import { openSqliteDatabase, type SqliteDb } from '../../src/adapters/sqlite/sqlite-database.ts';
import { SqliteDeliveryQueue } from '../../src/adapters/sqlite/sqlite-delivery-queue.ts';
import { SqliteResultStore } from '../../src/adapters/sqlite/sqlite-result-store.ts';
import { SqliteUploadArchive } from '../../src/adapters/sqlite/sqlite-upload-archive.ts';
import type { ResultStore, UploadResults } from '../../src/ports/result-store.ts';
import { sharedPostgres, testDatabase, type TestPostgres } from '../support/postgres.ts';
import { deliveryStoresContract } from './delivery-queue.contract.ts';

const sqliteStores = (db: SqliteDb) => {
  const results = new SqliteResultStore(db);
  return {
    queue: new SqliteDeliveryQueue(db),
    archive: new SqliteUploadArchive(db),
    results,
    messageOf: async (uuid: string, id: string) =>
      (await results.targets(uuid)).find((t) => t.client_id === id)?.message ?? '',
  };
};

deliveryStoresContract(
  'SQLite (real rportd.db in a temp data_dir)',
  async () => {
    const dir = await mkdtemp(join(tmpdir(), 'rportd-queue-'));
    let db = openSqliteDatabase(dir);
    return {
      ...sqliteStores(db),
      reopen: async () => {
        db.close();
        db = openSqliteDatabase(dir);
        return sqliteStores(db);
      },
      cleanup: async () => {
        db.close();
        await rm(dir, { recursive: true, force: true });
      },
    };
  },
  true,
);

const postgresStores = (db: PgDb) => {
  const results = new PostgresResultStore(db, 'node-1');
  return {
    queue: new PostgresDeliveryQueue(db, 'node-1'),
    archive: new PostgresUploadArchive(db, 'node-1'),
    results,
    messageOf: async (uuid: string, id: string) =>
      (await results.targets(uuid)).find((t) => t.client_id === id)?.message ?? '',
  };
};

describe('on PostgreSQL', function () {
  let server: TestPostgres;
  before(async function () {
    server = await sharedPostgres(this, 'the delivery stores contract on PostgreSQL');
  });
  deliveryStoresContract(
    'PostgreSQL (a private server; the restart is a new pool of the same node)',
    async () => {
      const t = await testDatabase(server);
      return {
        ...postgresStores(t.db),
        reopen: async () => postgresStores(await t.reopen()),
        cleanup: t.cleanup,
      };
    },
    true,
  );
  it('PostgresResultStore: each target starts at attempt 1; a retry makes it 2', async () => {
    const t = await testDatabase(server);
    try {
      await expectAttempts(new PostgresResultStore(t.db, 'node-1'));
    } finally {
      await t.cleanup();
    }
  });
});

deliveryStoresContract('in-memory (the domain tests and the simulation)', async () => {
  const results = new InMemoryResultStore();
  return {
    queue: new InMemoryDeliveryQueue(),
    archive: new InMemoryUploadArchive(),
    results,
    messageOf: async (uuid: string, id: string) =>
      results.outcomes(uuid).find((o) => o.client_id === id)?.message ?? results.noteOf(uuid, id),
    cleanup: async () => undefined,
  };
});

describe('SqliteResultStore: attempts as the API shows them', () => {
  it('each target starts at attempt 1; a retry makes it 2', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'rportd-queue-'));
    const db = openSqliteDatabase(dir);
    try {
      await expectAttempts(new SqliteResultStore(db));
    } finally {
      db.close();
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('a database from before offline delivery is migrated, its results at attempt 1', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'rportd-queue-'));
    try {
      // Today's database with its last three steps (offline delivery, diffs, backups) taken back.
      const before = openSqliteDatabase(dir);
      const latest = before.pragma('user_version', { simple: true }) as number;
      before.exec(
        'ALTER TABLE upload_results DROP COLUMN backup; ALTER TABLE upload_results DROP COLUMN diff; DROP TABLE delivery_queue; DROP TABLE kept_uploads; ALTER TABLE upload_results DROP COLUMN attempt;',
      );
      before.pragma(`user_version = ${latest - 3}`);
      before
        .prepare(
          `INSERT INTO upload_results (uuid, client_id, status, updated_at) VALUES ('u', 'c1', 'success', 'x')`,
        )
        .run();
      before.close();
      const db = openSqliteDatabase(dir);
      expect(db.pragma('user_version', { simple: true })).to.equal(latest);
      const results = new SqliteResultStore(db);
      const [t] = await results.targets('u');
      expect(t.attempt).to.equal(1);
      expect(t, 'a result from before diffs has none').to.not.have.property('diff');
      expect(t, 'nor a backup').to.not.have.property('backup');
      expect(await new SqliteDeliveryQueue(db).all()).to.deep.equal([]);
      db.close();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

/** Both databases show attempts alike: 1 to begin with, one more per reopen, changed null while pending. */
async function expectAttempts(results: ResultStore & UploadResults): Promise<void> {
  await results.begin('u', ['c1', 'c2']);
  await results.record({
    uuid: 'u',
    client_id: 'c2',
    status: 'error',
    message: 'x',
    filepath: '',
    size: 0,
    changed: false,
  });
  await results.reopen('u');
  expect(
    (await results.targets('u')).map((t) => [t.client_id, t.status, t.attempt, t.changed]),
    'a reopened target is pending again: changed is null until its new outcome',
  ).to.deep.equal([
    ['c1', 'pending', 1, null],
    ['c2', 'pending', 2, null],
  ]);
}
