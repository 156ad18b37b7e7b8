import { expect } from 'chai';
import pg from 'pg';
import { openPostgresDatabase } from '../../../src/adapters/postgres/postgres-database.ts';
import { migrate, MIGRATIONS } from '../../../src/adapters/postgres/postgres-migrations.ts';
import { sharedPostgres, type TestPostgres } from '../../support/postgres.ts';

async function rejection(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (e) {
    return e as Error;
  }
  throw new Error('expected the call to fail');
}

/** Polls until check holds; the limit only keeps a broken run from hanging. */
async function until(check: () => Promise<boolean>, what: string): Promise<void> {
  for (let i = 0; i < 400; i++) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`never happened: ${what}`);
}

describe('PostgreSQL schema migrations (a private PostgreSQL server)', function () {
  let server: TestPostgres;
  let url: string;
  const pools: pg.Pool[] = [];
  const pool = (): pg.Pool => {
    const p = new pg.Pool({ connectionString: url });
    pools.push(p);
    return p;
  };
  const versions = async (): Promise<number[]> =>
    (await pool().query<{ version: number }>('SELECT version FROM rport_schema ORDER BY version')).rows.map(
      (r) => r.version,
    );
  const exists = async (table: string): Promise<boolean> =>
    (await pool().query<{ t: string | null }>('SELECT to_regclass($1) AS t', [table])).rows[0].t !== null;

  before(async function () {
    server = await sharedPostgres(this, 'the PostgreSQL migration tests');
  });
  beforeEach(async () => {
    url = await server.emptyDatabase();
  });
  afterEach(async () => {
    await Promise.all(pools.splice(0).map((p) => p.end()));
    await server.drop(url);
  });

  it('an empty database gets every step once, and a second run applies nothing', async () => {
    expect(await migrate(pool())).to.deep.equal(MIGRATIONS.map((_, i) => i + 1));
    expect(await migrate(pool())).to.deep.equal([]);
    expect(await versions()).to.deep.equal(MIGRATIONS.map((_, i) => i + 1));
    for (const t of ['api_users', 'clients', 'upload_results', 'uploads', 'audit_log', 'client_keys'])
      expect(await exists(t), t).to.equal(true);
  });

  it('two nodes starting at once: the second waits on the lock, then finds the schema current', async () => {
    // A third session holds the lock, so that both migrators are seen waiting on it before either runs.
    const holder = await pool().connect();
    await holder.query('BEGIN');
    await holder.query('SELECT pg_advisory_xact_lock($1)', [0x72706f7274]);
    const both = Promise.all([migrate(pool()), migrate(pool())]);
    const waiting = async () =>
      (
        await holder.query<{ n: number }>(
          `SELECT COUNT(*)::integer AS n FROM pg_locks l JOIN pg_database d ON d.oid = l.database
             WHERE l.locktype = 'advisory' AND NOT l.granted AND d.datname = current_database()`,
        )
      ).rows[0].n === 2;
    await until(waiting, 'both migrators waiting on the advisory lock');
    expect(await exists('rport_schema'), 'nothing ran while the lock was held').to.equal(false);
    await holder.query('COMMIT');
    holder.release();
    const applied = await both;
    expect(applied.map((a) => a.length).sort()).to.deep.equal([0, MIGRATIONS.length]);
    expect(await versions()).to.deep.equal(MIGRATIONS.map((_, i) => i + 1));
  });

  it('many pools opening the database at once all succeed on one schema', async () => {
    const opened = await Promise.all(Array.from({ length: 4 }, () => openPostgresDatabase(url)));
    pools.push(...opened);
    expect(await versions()).to.deep.equal(MIGRATIONS.map((_, i) => i + 1));
  });

  it('a step that fails leaves the schema as it was, and the error names the step', async () => {
    const e = await rejection(
      migrate(pool(), ['CREATE TABLE first_step (i integer)', 'CREATE TABLE broken (']),
    );
    expect(e.message).to.match(/schema step 2 failed: syntax error/);
    expect(await exists('first_step')).to.equal(false);
    expect(await exists('rport_schema')).to.equal(false);
  });

  it('a schema newer than this rportd is refused, naming both versions', async () => {
    await migrate(pool(), [...MIGRATIONS, 'CREATE TABLE from_the_future (i integer)']);
    const e = await rejection(openPostgresDatabase(url));
    expect(e.message).to.contain(
      `schema version ${MIGRATIONS.length + 1}, newer than this rportd knows (${MIGRATIONS.length})`,
    );
    expect(e.message).to.not.contain(new URL(url).password);
  });
});
