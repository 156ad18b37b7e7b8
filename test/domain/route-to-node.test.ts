import { expect } from 'chai';
import { success } from '../../src/domain/outcome.ts';
import type { ClientChannel } from '../../src/ports/client-channel.ts';
import { makeClusterNode, SharedState, type ClusterNode } from './support/cluster-fixture.ts';
import { ADMIN, form } from './support/server-fixture.ts';

const PLACED = success('file successfully copied to destination');

/** A client that reads the file it is asked for from its node's staging folder, as the SFTP serves it. */
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

describe('routing: each target is pushed by the node holding its client', () => {
  let s: SharedState;
  let a: ClusterNode;
  let b: ClusterNode;
  beforeEach(() => {
    s = new SharedState();
    a = makeClusterNode('node-a', s);
    b = makeClusterNode('node-b', s);
  });
  afterEach(() => {
    a.close();
    b.close();
  });

  /** An upload of "payload" accepted by node `on`, driven until no target of it waits. */
  async function push(on: ClusterNode, targets: string[], offlineTtl?: string): Promise<string> {
    const fields: [string, string][] = [
      ...targets.map((id): [string, string] => ['client_id', id]),
      ['dest', '/srv/app.conf'],
      ...(offlineTtl === undefined ? [] : [['offline_ttl', offlineTtl] as [string, string]]),
    ];
    const accepted = await on.accept.execute(ADMIN, form(...fields, { file: 'payload' }));
    if (!accepted.ok) throw new Error(accepted.rejection.detail);
    const uuid = accepted.upload.staged.uuid;
    await s.clock.run(accepted.distributed);
    const giveUp = s.clock.now().getTime() + 3_600_000;
    await s.clock.run(
      (async () => {
        while (s.results.pending(uuid).length > 0 && s.clock.now().getTime() < giveUp)
          await s.clock.sleep(1000);
      })(),
    );
    return uuid;
  }

  const statusOf = (uuid: string) =>
    Object.fromEntries(s.results.outcomes(uuid).map((o) => [o.client_id, [o.status, o.message]]));

  it('a target on another node is pushed there from one local copy, then nothing stays anywhere', async () => {
    const [c1, c2, c3] = [agentOn(a), agentOn(b), agentOn(b)];
    await a.connect('c1', c1);
    await b.connect('c2', c2);
    await b.connect('c3', c3);
    const uuid = await push(a, ['c1', 'c2', 'c3']);
    expect(statusOf(uuid)).to.deep.equal({
      c1: ['success', PLACED.message],
      c2: ['success', PLACED.message],
      c3: ['success', PLACED.message],
    });
    // Each client read the file from its own node's folder: node-b's copy of the shared object.
    expect([c1.got, c2.got, c3.got]).to.deep.equal([['payload'], ['payload'], ['payload']]);
    expect(b.shared.copies, 'copies fetched by node-b').to.equal(1);
    expect(a.shared.copies, 'node-a pushes its own file').to.equal(0);
    expect(s.wakeUps).to.deep.equal([
      ['node-b', 'c2'],
      ['node-b', 'c3'],
    ]);
    expect(a.local.names(), 'node-a staged').to.deep.equal([]);
    expect(b.local.names(), 'node-b copies').to.deep.equal([]);
    expect([...s.bucket.objects.keys()], 'the bucket').to.deep.equal([]);
    expect(s.audit.entries.filter((e) => e.upload_uuid === uuid && e.action === 'success')).to.have.length(3);
  });

  it('a client connected to no node ends "not connected" at once, without offline_ttl', async () => {
    await a.connect('c1', agentOn(a));
    const uuid = await push(a, ['c1', 'c4']);
    expect(statusOf(uuid).c4).to.deep.equal(['error', 'client c4 is not connected']);
    expect(s.wakeUps).to.deep.equal([]);
    expect([...s.bucket.objects.keys()]).to.deep.equal([]);
  });

  it('a lost wake-up: the node serves the target on its sweep', async () => {
    const c2 = agentOn(b);
    await b.connect('c2', c2);
    s.dropWakeUps = true;
    const accepted = await a.accept.execute(
      ADMIN,
      form(['client_id', 'c2'], ['dest', '/srv/app.conf'], { file: 'payload' }),
    );
    if (!accepted.ok) throw new Error(accepted.rejection.detail);
    await s.clock.run(accepted.distributed);
    const uuid = accepted.upload.staged.uuid;
    expect(s.results.pending(uuid), 'waiting in the queue for node-b').to.deep.equal(['c2']);
    expect(s.results.noteOf(uuid, 'c2')).to.equal(
      'routed: client c2 is connected to node node-b, which pushes it',
    );
    expect(await s.clock.run(b.offline.sweep())).to.equal(1);
    expect(statusOf(uuid)).to.deep.equal({ c2: ['success', PLACED.message] });
    expect(c2.got).to.deep.equal(['payload']);
    expect([...s.bucket.objects.keys()]).to.deep.equal([]);
    expect(b.local.names()).to.deep.equal([]);
  });

  it('a node that never serves: the target ends once, "not connected", after its window', async () => {
    await b.connect('c2', agentOn(b));
    // node-b dies with the client: nothing serves the queue, the registry still names node-b.
    b.channels.disconnect('c2');
    s.dropWakeUps = true;
    const uuid = await push(a, ['c2']);
    expect(statusOf(uuid)).to.deep.equal({ c2: ['error', 'client c2 is not connected'] });
    expect(s.results.outcomes(uuid)).to.have.length(1);
    expect(await s.queue.all()).to.deep.equal([]);
    expect([...s.bucket.objects.keys()]).to.deep.equal([]);
    expect(a.local.names()).to.deep.equal([]);
  });

  it('with offline_ttl, a client away from every node is served by the node it connects to', async () => {
    const accepted = await a.accept.execute(
      ADMIN,
      form(['client_id', 'c1'], ['dest', '/srv/app.conf'], ['offline_ttl', '600'], { file: 'payload' }),
    );
    if (!accepted.ok) throw new Error(accepted.rejection.detail);
    await s.clock.run(accepted.distributed);
    const uuid = accepted.upload.staged.uuid;
    expect(s.results.pending(uuid)).to.deep.equal(['c1']);
    expect(s.wakeUps, 'connected nowhere: nobody to wake').to.deep.equal([]);
    const c1 = agentOn(b);
    await s.clock.run(
      (async () => {
        await b.connect('c1', c1);
        while (s.results.pending(uuid).length > 0) await s.clock.sleep(100);
      })(),
    );
    expect(statusOf(uuid)).to.deep.equal({ c1: ['success', PLACED.message] });
    expect(c1.got).to.deep.equal(['payload']);
    expect(b.shared.copies).to.equal(1);
    expect([...s.bucket.objects.keys()]).to.deep.equal([]);
    expect(b.local.names()).to.deep.equal([]);
  });
});
