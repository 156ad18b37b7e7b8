import { expect } from 'chai';
import { openPostgresDatabase, type PgDb } from '../../../src/adapters/postgres/postgres-database.ts';
import { PostgresDeliveryQueue } from '../../../src/adapters/postgres/postgres-delivery-queue.ts';
import { openPostgresStores } from '../../../src/adapters/postgres/postgres-stores.ts';
import { PostgresUploadArchive } from '../../../src/adapters/postgres/postgres-upload-archive.ts';
import type { AcceptedUpload } from '../../../src/domain/accepted-upload.ts';
import type { QueuedTarget } from '../../../src/ports/delivery-queue.ts';
import {
  sharedPostgres,
  testDatabase,
  type TestDatabase,
  type TestPostgres,
} from '../../support/postgres.ts';

/** Long enough that no lease runs out during a test; a lapse is made by moving the lease's end back. */
const LEASE_MS = 600_000;
const until = new Date(Date.UTC(2030, 0, 1));
const target = (i: number, client = 'c1'): QueuedTarget => ({
  uuid: `u-${String(i).padStart(2, '0')}`,
  client_id: client,
  expires_at: until,
});
const uuids = (ts: QueuedTarget[]) => ts.map((t) => t.uuid);

const upload = (uuid: string): AcceptedUpload => ({
  staged: { uuid, name: `${uuid}_rport_filepush`, size: 3, md5: 'm', sha256: 's' },
  filename: 'a',
  destination: '/tmp/a',
  force: false,
  sync: false,
  ownership: {},
  targets: ['c1'],
  requestedBy: 'alice',
});

describe('the delivery queue shared by several nodes (a private PostgreSQL server)', function () {
  let server: TestPostgres;
  let t: TestDatabase;
  let other: PgDb;
  let a: PostgresDeliveryQueue;
  let b: PostgresDeliveryQueue;
  before(async function () {
    server = await sharedPostgres(this, 'the PostgreSQL delivery queue node tests');
  });
  beforeEach(async () => {
    t = await testDatabase(server);
    other = await openPostgresDatabase(t.url);
    a = new PostgresDeliveryQueue(t.db, 'node-a');
    b = new PostgresDeliveryQueue(other, 'node-b');
  });
  afterEach(async () => {
    await other.end();
    await t.cleanup();
  });

  it('two nodes claiming one client at once share its targets out: none twice, none left', async () => {
    for (let i = 0; i < 40; i++) await a.enqueue(target(i));
    const [byA, byB] = await Promise.all([a.claim('c1', LEASE_MS), b.claim('c1', LEASE_MS)]);
    const both = [...uuids(byA), ...uuids(byB)];
    expect(new Set(both).size, 'no target claimed by both').to.equal(both.length);
    expect(both.sort()).to.deep.equal(uuids(await a.all()).sort());
    expect(await a.claim('c1', LEASE_MS), "a renews its own, not b's").to.have.length(byA.length);
    expect(await b.claim('c1', LEASE_MS)).to.have.length(byB.length);
  });

  it('a claim skips a target another node is claiming at that moment instead of waiting for it', async () => {
    for (let i = 0; i < 3; i++) await a.enqueue(target(i));
    // A third session holds u-01's row lock, as node a's claim does while its statement runs.
    const holder = await other.connect();
    try {
      await holder.query('BEGIN');
      await holder.query(`SELECT 1 FROM delivery_queue WHERE uuid = 'u-01' FOR UPDATE`);
      expect(uuids(await b.claim('c1', LEASE_MS))).to.deep.equal(['u-00', 'u-02']);
      await holder.query('ROLLBACK');
    } finally {
      holder.release();
    }
    expect(uuids(await a.claim('c1', LEASE_MS)), 'free once the lock went').to.deep.equal(['u-01']);
  });

  it("a claimed target is the claiming node's to end; its release, or a lapsed lease, frees it", async () => {
    await a.enqueue(target(1));
    await a.enqueue(target(2));
    await a.enqueue(target(3, 'c2'));
    expect(uuids(await a.claim('c1', LEASE_MS))).to.deep.equal(['u-01', 'u-02']);
    expect(await b.claim('c1', LEASE_MS), 'held by a').to.deep.equal([]);
    expect(await b.remove('u-01', 'c1'), "b cannot end a's target while a pushes it").to.equal(false);
    expect(uuids(await b.all()), 'listing still shows every target').to.deep.equal(['u-01', 'u-02', 'u-03']);
    expect(uuids(await b.claim('c2', LEASE_MS)), "another client's targets are free").to.deep.equal(['u-03']);

    // The client dropped during a's push: a gives the target back, and b, where it reconnects, takes it.
    expect(await a.release('u-01', 'c1')).to.equal(true);
    expect(await b.release('u-02', 'c1'), "b cannot release a's claim").to.equal(false);
    expect(uuids(await b.claim('c1', LEASE_MS))).to.deep.equal(['u-01']);

    // Node a dies holding u-02: once its lease is over, b claims and ends it, and a's late end is refused.
    await t.db.query(
      `UPDATE delivery_queue SET claimed_until = now() - interval '1 second' WHERE claimed_by = 'node-a'`,
    );
    expect(uuids(await b.claim('c1', LEASE_MS))).to.deep.equal(['u-01', 'u-02']);
    expect(await a.remove('u-02', 'c1')).to.equal(false);
    expect(await b.remove('u-02', 'c1')).to.equal(true);
    expect(await b.remove('u-02', 'c1'), 'ended once').to.equal(false);
  });

  it('two nodes ending the same targets at once (their expiry timers): each ends exactly once', async () => {
    for (let i = 0; i < 40; i++) await a.enqueue(target(i));
    const ended = await Promise.all(
      (await a.all()).map((q) => Promise.all([a.remove(q.uuid, q.client_id), b.remove(q.uuid, q.client_id)])),
    );
    for (const [x, y] of ended) expect(x !== y, 'one true, one false').to.equal(true);
    expect(await b.all()).to.deep.equal([]);
  });

  it('re-queueing a claimed target moves its end and keeps the claim and its place', async () => {
    await a.enqueue(target(1));
    await a.enqueue(target(2));
    await a.claim('c1', LEASE_MS);
    const later = new Date(until.getTime() + 60_000);
    await b.enqueue({ ...target(1), expires_at: later });
    expect(await b.all()).to.deep.equal([{ ...target(1), expires_at: later }, target(2)]);
    expect(await b.claim('c1', LEASE_MS)).to.deep.equal([]);
  });

  it("the archive: every node reads an upload, but its staged file is the accepting node's", async () => {
    const arcA = new PostgresUploadArchive(t.db, 'node-a');
    const arcB = new PostgresUploadArchive(other, 'node-b');
    await arcA.save(upload('u1'));
    await arcB.save(upload('u2'));
    expect(await arcB.find('u1'), 'b has no copy of the file a staged').to.deep.equal({
      upload: upload('u1'),
      staged: false,
    });
    expect(await arcA.find('u1')).to.deep.equal({ upload: upload('u1'), staged: true });
    // b starting up, or ending stranded pushes, marks as removed only the files it staged.
    await arcB.stagedRemoved('u1');
    await arcB.keepUntil('u1', until);
    expect(await arcA.find('u1')).to.deep.equal({ upload: upload('u1'), staged: true });
    expect(await arcA.withStagedFiles()).to.deep.equal([{ uuid: 'u1' }]);
    expect(await arcB.withStagedFiles()).to.deep.equal([{ uuid: 'u2' }]);
  });

  it('openPostgresStores opens the queue and the archive for its node', async () => {
    const stores = await openPostgresStores(t.url, 'node-9');
    try {
      await stores.archive.save(upload('u9'));
      await stores.queue.enqueue(target(9));
      expect(uuids(await stores.queue.claim('c1', LEASE_MS))).to.deep.equal(['u-09']);
      expect(await a.remove('u-09', 'c1'), 'claimed by node-9').to.equal(false);
      expect(await stores.archive.withStagedFiles()).to.deep.equal([{ uuid: 'u9' }]);
    } finally {
      await stores.close();
    }
  });
});
