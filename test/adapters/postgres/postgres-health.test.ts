import { expect } from 'chai';
import pg from 'pg';
import { PostgresHealth } from '../../../src/adapters/postgres/postgres-health.ts';
import type { DatabaseState } from '../../../src/ports/database-health.ts';
import { sharedPostgres, testDatabase, type TestDatabase } from '../../support/postgres.ts';

// The probe is bounded by an injected clock, so these counts never depend on how fast the machine is.
describe('PostgresHealth: SELECT 1 probes, one at a time and at most one per interval', () => {
  let t: TestDatabase;
  let now = 0;
  let health: PostgresHealth | undefined;
  const changes: DatabaseState[] = [];
  before(async function () {
    t = await testDatabase(await sharedPostgres(this, 'the PostgresHealth tests'));
  });
  after(async () => {
    await t?.cleanup();
  });
  afterEach(() => {
    health?.stop();
    changes.length = 0;
  });

  const build = (probe: () => Promise<unknown>) =>
    new PostgresHealth(probe, {
      intervalMs: 60_000,
      now: () => now,
      onChange: (s) => changes.push(s),
    });

  it('a burst of checks costs no query within the interval and one query after it', async () => {
    let calls = 0;
    health = build(() => {
      calls++;
      return t.db.query('SELECT 1');
    });
    const burst = () => Promise.all(Array.from({ length: 50 }, () => health!.check()));
    expect(await burst()).to.deep.equal(Array.from({ length: 50 }, () => ({ ok: true })));
    expect(calls).to.equal(0);
    now += 60_000;
    await burst();
    expect(calls).to.equal(1);
    await burst();
    expect(calls).to.equal(1);
    expect(changes).to.deep.equal([]);
  });

  it('a database that refuses connections is down with the reason, reported once; the lost-connection hint probes at once', async () => {
    const closed = new URL(t.url);
    closed.port = '1';
    const pool = new pg.Pool({ connectionString: closed.toString() });
    let calls = 0;
    health = build(() => {
      calls++;
      return pool.query('SELECT 1');
    });
    try {
      health.lost();
      const s = await health.check();
      expect(calls).to.equal(1);
      expect(s.ok).to.equal(false);
      expect(s.detail).to.contain('ECONNREFUSED');
      await Promise.all(Array.from({ length: 20 }, () => health!.check()));
      now += 60_000;
      await health.check();
      expect(calls).to.equal(2);
      expect(changes.map((c) => c.ok)).to.deep.equal([false]);
    } finally {
      await pool.end();
    }
  });
});
