import { expect } from 'chai';
import { PostgresDeliveryQueue } from '../../../src/adapters/postgres/postgres-delivery-queue.ts';
import { sql } from '../../../src/adapters/postgres/postgres-database.ts';
import { PostgresNodeLiveness } from '../../../src/adapters/postgres/postgres-node-liveness.ts';
import { PostgresResultStore } from '../../../src/adapters/postgres/postgres-result-store.ts';
import {
  sharedPostgres,
  testDatabase,
  type TestDatabase,
  type TestPostgres,
} from '../../support/postgres.ts';

const LEASE_MS = 600_000;
const TIMING = { heartbeatMs: 1_000, lapseMs: 5_000 };
const U1 = '00000000-0000-4000-8000-0000000000a1';
const U2 = '00000000-0000-4000-8000-0000000000b2';
const done = (uuid: string, client_id: string) => ({
  client_id,
  uuid,
  filepath: '/srv/x',
  size: 1,
  message: 'ok',
  status: 'success' as const,
  changed: true,
});

/** A node's liveness on a monotonic clock the test moves; `steady` beats it until it may judge. */
class Node {
  t = 0;
  readonly live: PostgresNodeLiveness;
  readonly results: PostgresResultStore;
  readonly queue: PostgresDeliveryQueue;
  constructor(db: TestDatabase['db'], id: string) {
    this.live = new PostgresNodeLiveness(db, id, { ...TIMING, now: () => this.t });
    this.results = new PostgresResultStore(db, id);
    this.queue = new PostgresDeliveryQueue(db, id, this.live);
  }
  async steady(): Promise<void> {
    for (let i = 0; i <= 6; i++) {
      await this.live.beat();
      this.t += TIMING.heartbeatMs;
    }
  }
}

describe('PostgresNodeLiveness: heartbeats, and what survivors take over from a lapsed node', function () {
  let server: TestPostgres;
  let t: TestDatabase;
  let a: Node;
  let b: Node;
  let c: Node;
  /** Moves a node's heartbeat back on the database's clock, as if it stopped that long ago. */
  const lapse = (id: string, ms = 60_000) =>
    sql(
      t.db,
      `UPDATE nodes SET heartbeat_at = now() - $2::bigint * interval '1 millisecond' WHERE node_id = $1`,
      [id, ms],
    );

  before(async function () {
    server = await sharedPostgres(this, 'the PostgreSQL node liveness tests');
  });
  beforeEach(async () => {
    t = await testDatabase(server);
    [a, b, c] = [new Node(t.db, 'node-a'), new Node(t.db, 'node-b'), new Node(t.db, 'node-c')];
  });
  afterEach(() => t.cleanup());

  it('a beat writes the node’s row on the database’s clock; beating again moves it', async () => {
    await a.live.beat();
    const first = (
      await sql<{ at: Date }>(t.db, `SELECT heartbeat_at AS at FROM nodes WHERE node_id = 'node-a'`)
    ).rows[0].at;
    await lapse('node-a', 30_000);
    await a.live.beat();
    const { rows } = await sql<{ at: Date; now: Date }>(
      t.db,
      `SELECT heartbeat_at AS at, now() AS now FROM nodes WHERE node_id = 'node-a'`,
    );
    expect(rows).to.have.length(1);
    expect(rows[0].at.getTime()).to.be.at.least(first.getTime());
    expect(rows[0].now.getTime() - rows[0].at.getTime()).to.be.below(TIMING.lapseMs);
  });

  it('takes over a lapsed node’s pending targets, once, and nobody else’s', async () => {
    await b.live.beat();
    await c.live.beat();
    await b.results.begin(U1, ['c1', 'c2', 'c3']);
    await b.results.record(done(U1, 'c3'));
    await c.results.begin(U2, ['c4']);
    await a.steady();
    expect(await a.live.adoptLapsed(), 'b is alive').to.deep.equal([]);
    await lapse('node-b');
    const adopted = await a.live.adoptLapsed();
    expect(adopted.map((x) => [x.uuid, x.client_id, x.node_id])).to.deep.equal([
      [U1, 'c1', 'node-b'],
      [U1, 'c2', 'node-b'],
    ]);
    const { rows } = await sql<{ client_id: string; node_id: string }>(
      t.db,
      `SELECT client_id, node_id FROM upload_results WHERE status = 'pending' ORDER BY client_id`,
    );
    expect(rows.map((r) => [r.client_id, r.node_id])).to.deep.equal([
      ['c1', 'node-a'],
      ['c2', 'node-a'],
      ['c4', 'node-c'],
    ]);
    expect(await a.live.adoptLapsed(), 'already taken').to.deep.equal([]);
    expect(
      (await a.results.pendingTargets()).map((p) => p.client_id),
      'a now ends them at its start',
    ).to.deep.equal(['c1', 'c2']);
  });

  it('two survivors adopting at once share the targets out, none twice', async () => {
    await b.live.beat();
    const ids = Array.from({ length: 40 }, (_, i) => `c${String(i).padStart(2, '0')}`);
    await b.results.begin(U1, ids);
    await a.steady();
    await c.steady();
    await lapse('node-b');
    const [byA, byC] = await Promise.all([a.live.adoptLapsed(), c.live.adoptLapsed()]);
    const all = [...byA, ...byC].map((x) => x.client_id).sort();
    expect(all).to.deep.equal(ids);
    const { rows } = await sql<{ n: number }>(
      t.db,
      `SELECT COUNT(*)::integer AS n FROM upload_results WHERE node_id = 'node-b'`,
    );
    expect(rows[0].n).to.equal(0);
  });

  it('judges nobody until it has beaten without a gap for longer than the bound', async () => {
    await b.live.beat();
    await b.results.begin(U1, ['c1']);
    await lapse('node-b');
    expect(a.live.ready).to.equal(false);
    await a.live.beat();
    expect(a.live.ready, 'one beat').to.equal(false);
    expect(await a.live.adoptLapsed()).to.deep.equal([]);
    await a.steady();
    expect(a.live.ready).to.equal(true);
    // A gap (the database away, say) and a node that comes back must wait again.
    a.t += 3 * TIMING.heartbeatMs;
    expect(a.live.ready, 'after a gap').to.equal(false);
    await a.live.beat();
    expect(a.live.ready, 'one beat after the gap').to.equal(false);
    expect(await a.live.adoptLapsed()).to.deep.equal([]);
    await a.steady();
    expect((await a.live.adoptLapsed()).map((x) => x.client_id)).to.deep.equal(['c1']);
  });

  it('a claim of a lapsed node is free at once, without waiting for its lease', async () => {
    await b.live.beat();
    await b.queue.enqueue({ uuid: U1, client_id: 'c1', expires_at: new Date(Date.now() + LEASE_MS) });
    expect((await b.queue.claim('c1', LEASE_MS)).map((q) => q.uuid)).to.deep.equal([U1]);
    await a.steady();
    expect(await a.queue.claim('c1', LEASE_MS), 'b is alive').to.deep.equal([]);
    expect(await a.queue.remove(U1, 'c1'), 'b is alive').to.equal(false);
    await lapse('node-b');
    a.t += 3 * TIMING.heartbeatMs;
    expect(await a.queue.claim('c1', LEASE_MS), 'a itself not steady').to.deep.equal([]);
    await a.steady();
    expect((await a.queue.claim('c1', LEASE_MS)).map((q) => q.uuid)).to.deep.equal([U1]);
    // Now a's: b, back, cannot take it while a is alive.
    await b.live.beat();
    expect(await b.queue.claim('c1', LEASE_MS)).to.deep.equal([]);
  });

  it('drops the lapsed nodes’ claims and names their clients; live claims stay', async () => {
    await b.live.beat();
    await c.live.beat();
    const later = new Date(Date.now() + LEASE_MS);
    await b.queue.enqueue({ uuid: U1, client_id: 'c1', expires_at: later });
    await b.queue.enqueue({ uuid: U2, client_id: 'c1', expires_at: later });
    await c.queue.enqueue({ uuid: U1, client_id: 'c2', expires_at: later });
    await b.queue.claim('c1', LEASE_MS);
    await c.queue.claim('c2', LEASE_MS);
    await a.steady();
    expect(await a.live.freeLapsedClaims()).to.deep.equal([]);
    await lapse('node-b');
    expect(await a.live.freeLapsedClaims()).to.deep.equal(['c1']);
    const { rows } = await sql<{ client_id: string; claimed_by: string | null }>(
      t.db,
      `SELECT client_id, claimed_by FROM delivery_queue ORDER BY client_id, uuid`,
    );
    expect(rows.map((r) => [r.client_id, r.claimed_by])).to.deep.equal([
      ['c1', null],
      ['c1', null],
      ['c2', 'node-c'],
    ]);
    expect(await a.live.freeLapsedClaims(), 'nothing left to free').to.deep.equal([]);
  });
});
