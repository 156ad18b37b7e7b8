import { expect } from 'chai';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FsStagingStore } from '../../../src/adapters/fs/fs-staging-store.ts';
import { InMemoryResultBroadcaster } from '../../../src/adapters/memory/in-memory-result-broadcaster.ts';
import { PostgresAuditLog } from '../../../src/adapters/postgres/postgres-audit-log.ts';
import { openPostgresDatabase, type PgDb } from '../../../src/adapters/postgres/postgres-database.ts';
import { PostgresResultStore } from '../../../src/adapters/postgres/postgres-result-store.ts';
import { SystemClock } from '../../../src/adapters/system/system-clock.ts';
import { EndStrandedPushes, RESTARTED_MESSAGE } from '../../../src/domain/end-stranded-pushes.ts';
import { ReportResult } from '../../../src/domain/report-result.ts';
import {
  sharedPostgres,
  testDatabase,
  type TestDatabase,
  type TestPostgres,
} from '../../support/postgres.ts';

const U1 = '00000000-0000-4000-8000-0000000000a1';
const U2 = '00000000-0000-4000-8000-0000000000b2';
const U3 = '00000000-0000-4000-8000-0000000000a3';
const U4 = '00000000-0000-4000-8000-0000000000c4';

async function* content(text: string): AsyncIterable<Uint8Array> {
  yield Buffer.from(text);
}

/** One rportd node's parts on the shared database: its own pool, staging folder and use case. */
async function node(db: PgDb, id: string, dir: string) {
  const results = new PostgresResultStore(db, id);
  const staging = new FsStagingStore(join(dir, id));
  await staging.init();
  const broadcaster = new InMemoryResultBroadcaster();
  const report = new ReportResult(results, broadcaster, new PostgresAuditLog(db), new SystemClock());
  return { results, staging, broadcaster, end: new EndStrandedPushes(results, staging, report) };
}

describe("EndStrandedPushes with two nodes on one PostgreSQL: a start ends only its node's targets", function () {
  let server: TestPostgres;
  let t: TestDatabase;
  let other: PgDb;
  let dir: string;
  before(async function () {
    server = await sharedPostgres(this, 'the PostgreSQL stranded-push tests');
  });
  beforeEach(async () => {
    t = await testDatabase(server);
    other = await openPostgresDatabase(t.url);
    dir = await mkdtemp(join(tmpdir(), 'rport-stranded-'));
  });
  afterEach(async () => {
    await other.end();
    await t.cleanup();
    await rm(dir, { recursive: true, force: true });
  });

  const statusOf = async (uuid: string) =>
    (
      await t.db.query<{ client_id: string; status: string; message: string; node_id: string | null }>(
        'SELECT client_id, status, message, node_id FROM upload_results WHERE uuid = $1 ORDER BY client_id',
        [uuid],
      )
    ).rows;

  it('node A restarting ends its own pending targets and files; node B pushes on, and ends its own at its start', async () => {
    const a = await node(t.db, 'node-a', dir);
    const b = await node(other, 'node-b', dir);
    // A accepted U1 (two targets) and U3; B accepted U2. Each staged its file in its own folder.
    await a.staging.stage(U1, content('one'), 1024);
    await a.results.begin(U1, ['c1', 'c2']);
    await new PostgresAuditLog(t.db).record({
      timestamp: new Date(),
      application: 'uploads',
      action: 'accepted',
      username: 'alice',
      upload_uuid: U1,
      request: {},
    });
    await b.staging.stage(U2, content('two'), 1024);
    await b.results.begin(U2, ['c3']);
    // U3's target failed on A; an admin's retry went to B, which now pushes it.
    await a.results.begin(U3, ['c4']);
    await a.results.record({
      uuid: U3,
      client_id: 'c4',
      status: 'error',
      message: 'not connected',
      filepath: '',
      size: 0,
      changed: false,
    });
    expect(await b.results.reopen(U3)).to.deep.equal(['c4']);
    // A target written before the schema named nodes: whichever node starts first ends it.
    await t.db.query(
      `INSERT INTO upload_results (uuid, client_id, status, updated_at) VALUES ($1, 'c5', 'pending', now())`,
      [U4],
    );

    const endedByA = await a.end.execute();

    expect(endedByA).to.deep.equal({ uploads: [U1, U4], targets: 3 });
    expect(await statusOf(U1)).to.deep.equal([
      { client_id: 'c1', status: 'error', message: RESTARTED_MESSAGE, node_id: 'node-a' },
      { client_id: 'c2', status: 'error', message: RESTARTED_MESSAGE, node_id: 'node-a' },
    ]);
    expect((await statusOf(U4))[0]).to.include({ status: 'error', message: RESTARTED_MESSAGE });
    expect(await statusOf(U2), "B's live push is untouched").to.deep.equal([
      { client_id: 'c3', status: 'pending', message: '', node_id: 'node-b' },
    ]);
    expect(await statusOf(U3), "B's retry of A's upload is B's").to.deep.equal([
      { client_id: 'c4', status: 'pending', message: '', node_id: 'node-b' },
    ]);
    expect(existsSync(a.staging.pathOf(U1)), "A's stranded file removed").to.equal(false);
    expect(existsSync(b.staging.pathOf(U2)), "B's file kept").to.equal(true);
    expect(a.broadcaster.published.map((o) => [o.uuid, o.client_id])).to.deep.equal([
      [U1, 'c1'],
      [U1, 'c2'],
      [U4, 'c5'],
    ]);
    const audited = await t.db.query<{ username: string; n: number }>(
      `SELECT username, COUNT(*)::integer AS n FROM audit_log WHERE action = 'error' AND upload_uuid = $1 GROUP BY username`,
      [U1],
    );
    expect(audited.rows, 'audited under the uploader').to.deep.equal([{ username: 'alice', n: 2 }]);

    // A second start of A finds nothing of its own; B's start then ends B's two targets.
    expect(await a.end.execute()).to.deep.equal({ uploads: [], targets: 0 });
    expect(await b.end.execute()).to.deep.equal({ uploads: [U2, U3], targets: 2 });
    expect((await statusOf(U2))[0]).to.include({ status: 'error', message: RESTARTED_MESSAGE });
    expect((await statusOf(U3))[0]).to.include({ status: 'error', message: RESTARTED_MESSAGE });
    expect(existsSync(b.staging.pathOf(U2))).to.equal(false);
  });
});
