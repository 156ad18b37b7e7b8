import { expect } from 'chai';
import { PostgresClientRegistry } from '../../../src/adapters/postgres/postgres-client-registry.ts';
import { openPostgresDatabase, type PgDb } from '../../../src/adapters/postgres/postgres-database.ts';
import { PostgresResultStore } from '../../../src/adapters/postgres/postgres-result-store.ts';
import { openPostgresStores } from '../../../src/adapters/postgres/postgres-stores.ts';
import {
  sharedPostgres,
  testDatabase,
  type TestDatabase,
  type TestPostgres,
} from '../../support/postgres.ts';

async function rejection(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (e) {
    return e as Error;
  }
  throw new Error('expected the call to fail');
}

const client = (id: string) => ({
  id,
  name: id,
  hostname: `${id}.example`,
  os: 'linux',
  tags: [],
  version: '0.1.0',
  fileReception: { enabled: true, protected: [] },
});

describe('PostgreSQL adapters shared by several nodes (a private PostgreSQL server)', function () {
  let server: TestPostgres;
  let t: TestDatabase;
  let other: PgDb;
  before(async function () {
    server = await sharedPostgres(this, 'the PostgreSQL node tests');
  });
  beforeEach(async () => {
    t = await testDatabase(server);
    other = await openPostgresDatabase(t.url);
  });
  afterEach(async () => {
    await other.end();
    await t.cleanup();
  });

  it('the registry records which node holds a client; a late disconnect from the old node changes nothing', async () => {
    const node1 = await PostgresClientRegistry.open(t.db, 'node-1');
    const node2 = await PostgresClientRegistry.open(other, 'node-2');
    await node1.announce(client('c1'));
    await node1.announce(client('c2'));
    expect(await node2.nodeOf('c1')).to.equal('node-1');
    await node2.announce(client('c1'));
    await node1.disconnected('c1');
    expect(await node1.get('c1')).to.deep.include({ connected: true });
    expect(await node1.nodeOf('c1')).to.equal('node-2');
    await node1.disconnected('c2');
    expect(await node2.nodeOf('c2')).to.equal(undefined);
    expect(await node2.nodeOf('unknown')).to.equal(undefined);
  });

  it("a node's restart disconnects its own clients only", async () => {
    const node1 = await PostgresClientRegistry.open(t.db, 'node-1');
    const node2 = await PostgresClientRegistry.open(other, 'node-2');
    await node1.announce(client('a'));
    await node2.announce(client('b'));
    const again = await PostgresClientRegistry.open(t.db, 'node-1');
    expect((await again.list()).map((c) => [c.id, c.connected])).to.deep.equal([
      ['a', false],
      ['b', true],
    ]);
    expect(await again.nodeOf('b')).to.equal('node-2');
  });

  it('two nodes beginning the same uuids at once: each uuid is claimed by exactly one', async () => {
    const a = new PostgresResultStore(t.db);
    const b = new PostgresResultStore(other);
    const uuids = Array.from({ length: 20 }, (_, i) => `race-${i}`);
    const outcomes = await Promise.all(
      uuids.map((u) => Promise.all([a.begin(u, ['from-a']), b.begin(u, ['from-b'])])),
    );
    for (const [x, y] of outcomes) expect(x !== y, 'one true, one false').to.equal(true);
    const rows = await t.db.query('SELECT uuid FROM upload_results');
    expect(rows.rowCount).to.equal(uuids.length);
  });

  it('a connection the server drops is reported, not thrown, and the next query opens another', async () => {
    const errors: Error[] = [];
    const db = await openPostgresDatabase(t.url, { onError: (e) => errors.push(e) });
    try {
      const { rows } = await db.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
      await t.db.query('SELECT pg_terminate_backend($1)', [rows[0].pid]);
      for (let i = 0; i < 400 && errors.length === 0; i++) await new Promise((r) => setTimeout(r, 25));
      expect(errors.length, 'the pool reported the dropped connection').to.equal(1);
      expect((await db.query('SELECT 1 AS one')).rows).to.deep.equal([{ one: 1 }]);
    } finally {
      await db.end();
    }
  });

  it('a bad database_url or password is refused with a clear error that never shows the password', async () => {
    expect((await rejection(openPostgresDatabase('mysql://db/rport'))).message).to.contain('postgres://');
    expect((await rejection(openPostgresDatabase('not a url'))).message).to.contain(
      'database_url is not a URL',
    );
    const wrong = new URL(t.url);
    wrong.password = 'wrong-secret';
    const e = await rejection(openPostgresDatabase(wrong.toString()));
    expect(e.message).to.contain('password authentication failed').and.contain('***');
    expect(e.message).to.not.contain('wrong-secret');
  });

  it('openPostgresStores opens every store on one pool, for one node', async () => {
    const stores = await openPostgresStores(t.url, 'node-9');
    try {
      await stores.registry.announce(client('c9'));
      expect(await stores.registry.nodeOf('c9')).to.equal('node-9');
      expect(await stores.apiUsers.ensureInitialAdmin()).to.have.property('username', 'admin');
      expect(await stores.apiUsers.ensureInitialAdmin()).to.equal(undefined);
    } finally {
      await stores.close();
    }
  });
});
