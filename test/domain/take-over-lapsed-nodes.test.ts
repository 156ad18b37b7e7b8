import { expect } from 'chai';
import { success } from '../../src/domain/outcome.ts';
import { TakeOverLapsedNodes } from '../../src/domain/take-over-lapsed-nodes.ts';
import type { ClientChannel } from '../../src/ports/client-channel.ts';
import type { LapsedTarget, NodeLiveness } from '../../src/ports/node-liveness.ts';
import { makeClusterNode, SharedState, type ClusterNode } from './support/cluster-fixture.ts';
import { ADMIN, form } from './support/server-fixture.ts';

const PLACED = success('file successfully copied to destination');
const TIMEOUT_MS = 30_000;

/** A client that reads its file from its node's staging folder, as the SFTP serves it. */
function agentOn(node: ClusterNode): ClientChannel & { got: (string | undefined)[] } {
  const ch = {
    got: [] as (string | undefined)[],
    push: async (req: { sourceName: string }) => {
      const bytes = node.local.read(req.sourceName);
      ch.got.push(bytes && Buffer.from(bytes).toString());
      return PLACED;
    },
  };
  return ch;
}

/** A client whose push never ends: its node dies in the middle of it. */
const hung: ClientChannel = { push: () => new Promise(() => undefined) };

/** The heartbeat of node-b: it beats, and reports what it is told lapsed. */
class FakeLiveness implements NodeLiveness {
  beats = 0;
  lapsed: LapsedTarget[] = [];
  freed: string[] = [];
  async beat(): Promise<void> {
    this.beats += 1;
  }
  async adoptLapsed(): Promise<LapsedTarget[]> {
    return this.lapsed.splice(0);
  }
  async freeLapsedClaims(): Promise<string[]> {
    return this.freed.splice(0);
  }
}

describe('TakeOverLapsedNodes: a survivor finishes what a node whose heartbeat lapsed left', () => {
  let s: SharedState;
  let a: ClusterNode;
  let b: ClusterNode;
  let live: FakeLiveness;
  let takeOver: TakeOverLapsedNodes;
  beforeEach(() => {
    s = new SharedState();
    // node-a "dies": its pushes never end (nor time out) and it records nothing more.
    a = makeClusterNode('node-a', s, 10 * 24 * 3600_000);
    b = makeClusterNode('node-b', s, TIMEOUT_MS);
    live = new FakeLiveness();
    takeOver = new TakeOverLapsedNodes(
      live,
      s.queue,
      b.archive,
      b.offline,
      b.routing,
      b.report,
      s.clock,
      b.logger,
      TIMEOUT_MS,
    );
  });
  afterEach(() => {
    a.close();
    b.close();
  });

  /** node-a accepts "payload" for the targets; its pushes to them hang. */
  async function acceptedOnA(targets: string[]): Promise<string> {
    const accepted = await a.accept.execute(
      ADMIN,
      form(...targets.map((id): [string, string] => ['client_id', id]), ['dest', '/srv/app.conf'], {
        file: 'payload',
      }),
    );
    if (!accepted.ok) throw new Error(accepted.rejection.detail);
    void accepted.distributed;
    await s.clock.run(s.clock.sleep(10));
    return accepted.upload.staged.uuid;
  }

  const lapsedOf = (uuid: string): LapsedTarget[] =>
    s.results
      .pending(uuid)
      .map((client_id) => ({ uuid, client_id, requested_by: 'admin', node_id: 'node-a' }));

  /** Runs the clock until no target of uuid is pending, or an hour passes. */
  async function settle(uuid: string): Promise<void> {
    const giveUp = s.clock.now().getTime() + 3_600_000;
    await s.clock.run(
      (async () => {
        while (s.results.pending(uuid).length > 0 && s.clock.now().getTime() < giveUp)
          await s.clock.sleep(1000);
      })(),
    );
  }

  it('a target whose client moved to the survivor is pushed again there, once, from the shared copy', async () => {
    await a.connect('c1', hung);
    const uuid = await acceptedOnA(['c1']);
    expect(s.results.pending(uuid)).to.deep.equal(['c1']);
    const c1 = agentOn(b);
    await b.connect('c1', c1);
    live.lapsed = lapsedOf(uuid);
    expect(await s.clock.run(takeOver.execute())).to.deep.equal({ adopted: 1, freed: 0 });
    await settle(uuid);
    expect(s.results.outcomes(uuid).map((o) => [o.client_id, o.status])).to.deep.equal([['c1', 'success']]);
    expect(c1.got).to.deep.equal(['payload']);
    expect(live.beats).to.equal(1);
    expect(await s.queue.all(), 'queued').to.deep.equal([]);
    expect([...s.bucket.objects.keys()], 'objects left').to.deep.equal([]);
    expect(b.logger.lines.some((l) => l.message.includes('took over the pending targets'))).to.equal(true);
  });

  it('a target whose client is on a third node: that node is woken and pushes it', async () => {
    const c = makeClusterNode('node-c', s, TIMEOUT_MS);
    try {
      await a.connect('c2', hung);
      const uuid = await acceptedOnA(['c2']);
      const c2 = agentOn(c);
      await c.connect('c2', c2);
      live.lapsed = lapsedOf(uuid);
      await s.clock.run(takeOver.execute());
      await settle(uuid);
      expect(s.wakeUps).to.deep.include(['node-c', 'c2']);
      expect(s.results.outcomes(uuid).map((o) => [o.client_id, o.status])).to.deep.equal([['c2', 'success']]);
      expect(c2.got).to.deep.equal(['payload']);
    } finally {
      c.close();
    }
  });

  it('a target whose client is connected nowhere ends "not connected" after the push timeout, once', async () => {
    await a.connect('c3', hung);
    const uuid = await acceptedOnA(['c3']);
    s.placement.delete('c3');
    live.lapsed = lapsedOf(uuid);
    const adoptedAt = s.clock.now().getTime();
    await s.clock.run(takeOver.execute());
    expect(s.results.pending(uuid), 'still waiting').to.deep.equal(['c3']);
    await settle(uuid);
    const [o] = s.results.outcomes(uuid);
    expect([o.client_id, o.status, o.message]).to.deep.equal(['c3', 'error', 'client c3 is not connected']);
    expect(s.clock.now().getTime() - adoptedAt).to.be.at.least(TIMEOUT_MS);
    expect(s.audit.entries.filter((e) => e.client_id === 'c3' && e.action === 'error')).to.have.length(1);
    expect([...s.bucket.objects.keys()], 'objects left').to.deep.equal([]);
  });

  it('a target whose upload was not kept ends at once with an error naming the node', async () => {
    live.lapsed = [{ uuid: 'gone-uuid', client_id: 'c4', requested_by: '', node_id: 'node-a' }];
    await s.results.begin('gone-uuid', ['c4']);
    await s.clock.run(takeOver.execute());
    const [o] = s.results.outcomes('gone-uuid');
    expect(o.status).to.equal('error');
    expect(o.message).to.equal(
      'node node-a stopped during the push, and its upload was not kept; the file was not pushed to client c4',
    );
  });

  it('freed claims: the client is served where it is connected', async () => {
    await s.clock.run(takeOver.execute());
    live.freed = ['c1'];
    s.placement.set('c1', 'node-a');
    expect(await s.clock.run(takeOver.execute())).to.deep.equal({ adopted: 0, freed: 1 });
    expect(s.wakeUps).to.deep.equal([['node-a', 'c1']]);
  });
});
