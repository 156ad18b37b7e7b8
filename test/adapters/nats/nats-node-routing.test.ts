import { expect } from 'chai';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { NatsNodeRouting, serveSubject } from '../../../src/adapters/nats/nats-node-routing.ts';
import { NatsServerProcess, natsServerOrSkip } from '../../support/nats-server.ts';

/** Resolves with the next `count` calls of a callback. */
function collector<T>(count: number): { add(v: T): void; all: Promise<T[]> } {
  const got: T[] = [];
  let done!: (v: T[]) => void;
  const all = new Promise<T[]>((r) => (done = r));
  return {
    add(v: T) {
      got.push(v);
      if (got.length === count) done(got);
    },
    all,
  };
}

describe('NatsNodeRouting (real nats-server): wake-ups on a subject per node', function () {
  this.timeout(30_000);
  let server: NatsServerProcess;
  let one: NatsConnection;
  let two: NatsConnection;
  const placement = new Map<string, string>([
    ['c1', 'node-1'],
    ['c2', 'node-2.example.com'],
  ]);
  const nodeOf = async (id: string) => placement.get(id);

  before(async function () {
    server = await NatsServerProcess.start(await natsServerOrSkip(this, 'the node routing tests'));
    [one, two] = [await connect({ servers: server.url }), await connect({ servers: server.url })];
  });
  after(async () => {
    await one?.close();
    await two?.close();
    await server?.dispose();
  });

  it('names the other node of a client only; none for its own or an unconnected client', async () => {
    const routing = new NatsNodeRouting(one, 'node-1', nodeOf);
    expect(await routing.otherNodeOf('c2')).to.equal('node-2.example.com');
    expect(await routing.otherNodeOf('c1')).to.equal(undefined);
    expect(await routing.otherNodeOf('c9')).to.equal(undefined);
  });

  it('a wake-up reaches the named node only, a node id with dots included', async () => {
    expect(serveSubject('node-2.example.com')).to.equal('rport.node.node-2~example~com.serve');
    const toTwo = collector<string>(2);
    const toOne: string[] = [];
    const subTwo = new NatsNodeRouting(two, 'node-2.example.com', nodeOf).listen(toTwo.add, (e) => {
      throw new Error(e);
    });
    const subOne = new NatsNodeRouting(one, 'node-1', nodeOf).listen(
      (id) => toOne.push(id),
      () => undefined,
    );
    await Promise.all([one.flush(), two.flush()]);
    const routing = new NatsNodeRouting(one, 'node-1', nodeOf);
    await routing.wake('node-2.example.com', 'c2');
    await routing.wake('node-2.example.com', 'c3 with spaces');
    expect(await toTwo.all).to.deep.equal(['c2', 'c3 with spaces']);
    await one.flush();
    expect(toOne, 'node-1 got nothing').to.deep.equal([]);
    subTwo.unsubscribe();
    subOne.unsubscribe();
  });

  it('malformed wake-ups are reported and dropped; the next good one still arrives', async () => {
    const bad = collector<string>(3);
    const good = collector<string>(1);
    const sub = new NatsNodeRouting(two, 'node-2', nodeOf).listen(good.add, bad.add);
    await two.flush();
    one.publish(serveSubject('node-2'), new Uint8Array([0xff, 0xfe]));
    one.publish(serveSubject('node-2'), JSON.stringify({ client_id: 42 }));
    one.publish(serveSubject('node-2'), JSON.stringify({ client_id: 'x'.repeat(2000) }));
    await new NatsNodeRouting(one, 'node-1', nodeOf).wake('node-2', 'c1');
    expect(await good.all).to.deep.equal(['c1']);
    const errors = await bad.all;
    expect(errors[0]).to.match(/^not UTF-8 JSON/);
    expect(errors[1]).to.equal('client_id must be a string of 1 to 1024 characters');
    expect(errors[2]).to.equal('client_id must be a string of 1 to 1024 characters');
    sub.unsubscribe();
  });
});
