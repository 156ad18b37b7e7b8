import { expect } from 'chai';
import { PostgresDeliveryQueue } from '../../../src/adapters/postgres/postgres-delivery-queue.ts';
import { PostgresOpenTargets } from '../../../src/adapters/postgres/postgres-open-targets.ts';
import { PostgresResultStore } from '../../../src/adapters/postgres/postgres-result-store.ts';
import {
  sharedPostgres,
  testDatabase,
  type TestDatabase,
  type TestPostgres,
} from '../../support/postgres.ts';

const U1 = '00000000-0000-4000-8000-0000000000a1';
const U2 = '00000000-0000-4000-8000-0000000000b2';

const outcome = (uuid: string, client_id: string) => ({
  client_id,
  uuid,
  filepath: '/srv/x',
  size: 1,
  message: 'ok',
  status: 'success' as const,
  changed: true,
});

describe('PostgresOpenTargets: whether an upload still has a target waiting, on any node', function () {
  let server: TestPostgres;
  let t: TestDatabase;
  before(async function () {
    server = await sharedPostgres(this, 'the PostgreSQL open-targets tests');
  });
  beforeEach(async () => {
    t = await testDatabase(server);
  });
  afterEach(() => t.cleanup());

  it('open while a target is pending, closed once each has its final outcome', async () => {
    const open = new PostgresOpenTargets(t.db);
    const results = new PostgresResultStore(t.db, 'node-a');
    expect(await open.anyOpen(U1), 'an unknown upload').to.equal(false);
    await results.begin(U1, ['c1', 'c2']);
    expect(await open.anyOpen(U1)).to.equal(true);
    await results.record(outcome(U1, 'c1'));
    expect(await open.anyOpen(U1), 'c2 still pending').to.equal(true);
    // Another node records the last one: the same database answers.
    await new PostgresResultStore(t.db, 'node-b').record(outcome(U1, 'c2'));
    expect(await open.anyOpen(U1)).to.equal(false);
  });

  it('a queued target keeps its upload open, whatever node claimed it', async () => {
    const open = new PostgresOpenTargets(t.db);
    const queue = new PostgresDeliveryQueue(t.db, 'node-b');
    await queue.enqueue({ uuid: U2, client_id: 'c1', expires_at: new Date(Date.now() + 60_000) });
    await queue.claim('c1', 60_000);
    expect(await open.anyOpen(U2)).to.equal(true);
    expect(await open.anyOpen(U1), 'another upload').to.equal(false);
    expect(await queue.remove(U2, 'c1')).to.equal(true);
    expect(await open.anyOpen(U2)).to.equal(false);
  });
});
