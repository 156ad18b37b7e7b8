import { expect } from 'chai';
import { InMemoryDeliveryQueue } from '../../src/adapters/memory/in-memory-delivery-queue.ts';
import type { QueuedTarget } from '../../src/ports/delivery-queue.ts';
import { ADMIN, form } from './support/server-fixture.ts';
import { makeOfflineServer, persisted, PLACED, scripted } from './support/offline-fixture.ts';

const keyOf = (uuid: string, clientId: string) => `${uuid}\n${clientId}`;

/**
 * The queue as another node shares it: targets that node holds are not handed out by a claim, nor
 * can this node end them, as the PostgreSQL queue behaves under another node's live lease.
 */
class SharedQueue extends InMemoryDeliveryQueue {
  readonly heldElsewhere = new Set<string>();
  readonly leases: number[] = [];
  readonly released: string[] = [];

  override async claim(clientId: string, leaseMs: number): Promise<QueuedTarget[]> {
    this.leases.push(leaseMs);
    return (await super.claim(clientId, leaseMs)).filter(
      (t) => !this.heldElsewhere.has(keyOf(t.uuid, t.client_id)),
    );
  }

  override async release(uuid: string, clientId: string): Promise<boolean> {
    this.released.push(keyOf(uuid, clientId));
    return super.release(uuid, clientId);
  }

  override async remove(uuid: string, clientId: string): Promise<boolean> {
    return !this.heldElsewhere.has(keyOf(uuid, clientId)) && super.remove(uuid, clientId);
  }
}

type Server = ReturnType<typeof makeOfflineServer>;

/** An upload to c1 while it is offline: it waits in the queue. */
async function queued(s: Server): Promise<string> {
  const accepted = await s.accept.execute(
    ADMIN,
    form(['client_id', 'c1'], ['dest', '/srv/app.conf'], ['offline_ttl', '600'], { file: 'payload' }),
  );
  if (!accepted.ok) throw new Error(accepted.rejection.detail);
  await s.clock.run(accepted.distributed);
  return accepted.upload.staged.uuid;
}

describe('offline delivery claims what it serves (the queue shared by several nodes)', () => {
  let s: Server;
  let queue: SharedQueue;
  beforeEach(() => {
    queue = new SharedQueue();
    s = makeOfflineServer({ stores: { ...persisted(), queue } });
  });
  afterEach(() => s.close());

  it('a target another node holds is neither pushed nor ended here; once given back, it is', async () => {
    const mine = await queued(s);
    const theirs = await queued(s);
    queue.heldElsewhere.add(keyOf(theirs, 'c1'));
    const c1 = scripted(async () => PLACED);
    s.channels.connect('c1', c1);

    expect(await s.clock.run(s.offline.serve('c1')), 'only the claimed target ended').to.equal(1);
    expect(c1.pushes).to.equal(1);
    expect(s.results.outcomes(mine).map((o) => o.status)).to.deep.equal(['success']);
    expect(s.results.outcomes(theirs), 'no outcome for a target pushed elsewhere').to.deep.equal([]);
    expect(s.results.pending(theirs)).to.deep.equal(['c1']);
    expect((await queue.all()).map((t) => t.uuid)).to.deep.equal([theirs]);
    expect(queue.leases.length).to.be.greaterThan(0);
    expect(
      queue.leases.every((ms) => ms > 30_000),
      'each lease outlasts the push timeout (30 s here)',
    ).to.equal(true);

    queue.heldElsewhere.clear();
    expect(await s.clock.run(s.offline.serve('c1'))).to.equal(1);
    expect(c1.pushes).to.equal(2);
    expect(s.results.outcomes(theirs).map((o) => o.status)).to.deep.equal(['success']);
  });

  it('a client that drops again gives its targets back, still queued, for the node it connects to next', async () => {
    const first = await queued(s);
    const second = await queued(s);
    const c1 = scripted(async () => {
      s.channels.disconnect('c1');
      throw new Error('ECONNRESET');
    });
    s.channels.connect('c1', c1);

    expect(await s.clock.run(s.offline.serve('c1'))).to.equal(0);
    expect(queue.released).to.deep.equal([keyOf(first, 'c1'), keyOf(second, 'c1')]);
    expect((await queue.all()).map((t) => t.uuid)).to.deep.equal([first, second]);
    expect(s.results.pending(first)).to.deep.equal(['c1']);
  });

  it('a target that ends releases nothing: its row is gone', async () => {
    await queued(s);
    s.channels.connect(
      'c1',
      scripted(async () => PLACED),
    );
    expect(await s.clock.run(s.offline.serve('c1'))).to.equal(1);
    expect(queue.released).to.deep.equal([]);
  });
});
