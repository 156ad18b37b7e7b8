import { expect } from 'chai';
import { connect, type Socket } from 'node:net';
import { rm } from 'node:fs/promises';
import { PassThrough, type Duplex } from 'node:stream';
import sinon from 'sinon';
import { HandshakeQueue } from '../../../../src/adapters/ssh/server/handshake-queue.ts';
import { startAgent, startServer, type TestAgent, type TestServer } from '../harness.ts';
import { until } from '../rogue.ts';

/** Raw TCP connections that never speak SSH: each holds a queue place until dropped (a silent socket takes no slot). */
function silentSocket(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect(port, '127.0.0.1', () => resolve(s));
    s.on('error', reject);
    s.resume(); // so that the end of the stream is seen
  });
}
/** Sends its SSH identification and no more: resolves once it holds a handshake slot (the server's ident came), where it stalls. */
async function stalledInHandshake(port: number): Promise<Socket> {
  const s = await silentSocket(port);
  const slot = new Promise((resolve) => s.once('data', resolve));
  s.write('SSH-2.0-stall\r\n');
  await slot;
  return s;
}
const closed = (s: Socket): Promise<void> =>
  new Promise((resolve) => (s.destroyed ? resolve() : s.once('close', () => resolve())));

describe('SSH listener: connections over max_concurrent_handshakes wait instead of being dropped', function () {
  this.timeout(30_000);
  let server: TestServer | undefined;
  const agents: TestAgent[] = [];
  const sockets: Socket[] = [];

  afterEach(async () => {
    for (const s of sockets.splice(0)) s.destroy();
    await Promise.all(agents.splice(0).map((a) => a.stop()));
    await server?.stop();
    if (server) await rm(server.dataDir, { recursive: true, force: true });
    server = undefined;
  });

  it('a storm of 12 agents against 2 handshake slots: all register, none is refused or retried', async () => {
    server = await startServer({ settings: { maxHandshakes: 2 } });
    // A refused agent would wait a minute before retrying: registering at all proves none was dropped.
    const started = await Promise.all(
      Array.from({ length: 12 }, (_, i) => startAgent(server!, `storm-${i}`, { backoffMs: 60_000 })),
    );
    agents.push(...started);
    expect(started.every((a) => a.connection.connected)).to.equal(true);
    expect(started.flatMap((a) => a.failures.map((e) => e.message))).to.deep.equal([]);
  });

  it('beyond the bounded queue a connection is dropped at accept, and that agent gets in on its retry', async () => {
    server = await startServer({
      settings: { maxHandshakes: 1, maxQueuedHandshakes: 1, handshakeTimeoutMs: 1500 },
    });
    sockets.push(await stalledInHandshake(server.port), await silentSocket(server.port)); // the slot, and the queue place
    const third = await silentSocket(server.port);
    sockets.push(third);
    await closed(third); // dropped: the queue is full
    const agent = await startAgent(server, 'late', { backoffMs: 100 });
    agents.push(agent);
    expect(agent.connection.connected).to.equal(true);
    expect(agent.failures.length, 'its first attempt found the queue full').to.be.greaterThan(0);
  });

  it('a queued connection that never gets a slot is closed at handshake_timeout, and frees its queue place', async () => {
    server = await startServer({
      settings: { maxHandshakes: 1, maxQueuedHandshakes: 1, handshakeTimeoutMs: 400 },
    });
    const holder = await stalledInHandshake(server.port);
    const queued = await silentSocket(server.port);
    sockets.push(holder, queued);
    await Promise.all([closed(holder), closed(queued)]);
    const agent = await startAgent(server, 'after', { backoffMs: 60_000 });
    agents.push(agent);
    expect(agent.failures).to.deep.equal([]);
  });
});

describe('HandshakeQueue (slots and the paused waiting connections, on in-memory streams)', () => {
  const settings = {
    maxHandshakes: 1,
    maxQueuedHandshakes: 1,
    handshakeTimeoutMs: 60_000,
    maxHandshakesPerAddress: 8,
    handshakeCapExempt: [],
  };
  /** A stream whose peer sent its SSH identification already. */
  const spoken = (): PassThrough => {
    const s = new PassThrough();
    s.write('SSH-2.0-x\r\n');
    return s;
  };
  const closeEvent = (s: Duplex): Promise<void> => new Promise((r) => s.once('close', () => r()));
  let injected: { stream: Duplex; paused: boolean }[];
  let queue: HandshakeQueue;
  beforeEach(() => {
    injected = [];
    queue = new HandshakeQueue(settings, (stream) => injected.push({ stream, paused: stream.isPaused() }));
  });
  afterEach(() => queue.close());

  it('a free slot hands the stream to ssh2 at once; over the cap it waits paused; beyond the queue it is dropped', () => {
    const [first, second, third] = [spoken(), spoken(), spoken()];
    queue.admit(first, 'a');
    queue.admit(second, 'b');
    queue.admit(third, 'c');
    expect(injected.map((i) => i.stream)).to.deep.equal([first]);
    expect(queue.queued).to.equal(1);
    expect(second.isPaused()).to.equal(true);
    expect(third.destroyed).to.equal(true);
  });

  it('the slot freed goes to the oldest waiting stream, still paused (ssh2 resumes it, so no byte is lost)', () => {
    const [first, second] = [spoken(), spoken()];
    queue.admit(first, 'a');
    queue.admit(second, 'b');
    second.write('more early bytes');
    queue.handshakeOver(queue.peerOf(first, undefined));
    expect(injected.map((i) => i.stream)).to.deep.equal([first, second]);
    expect(injected[1].paused).to.equal(true);
    expect(queue.queued).to.equal(0);
    expect(queue.peerOf(second, undefined)).to.include({ address: 'b', handshaking: true });
  });

  it('a waiting stream that closes leaves the queue, and a closed handshake frees its slot', async () => {
    const [first, second, third] = [spoken(), spoken(), spoken()];
    queue.admit(first, 'a');
    queue.admit(second, 'b');
    second.destroy();
    await closeEvent(second);
    expect(queue.queued).to.equal(0);
    first.destroy();
    await closeEvent(first);
    queue.admit(third, 'c');
    expect(injected.map((i) => i.stream)).to.deep.equal([first, third]);
  });

  it('close drops the waiting and the handshaking streams, and says so to the listener', () => {
    const [first, second] = [spoken(), spoken()];
    queue.admit(first, 'a');
    queue.admit(second, 'b');
    queue.close();
    expect(queue.closed).to.equal(true);
    expect([first.destroyed, second.destroyed]).to.deep.equal([true, true]);
  });

  it('the deadline counts from accept: time in the queue is not given back when the slot comes', () => {
    const clock = sinon.useFakeTimers();
    const timed = new HandshakeQueue({ ...settings, handshakeTimeoutMs: 1000 }, () => undefined);
    try {
      const [first, second] = [spoken(), spoken()];
      timed.admit(first, 'a');
      timed.admit(second, 'b'); // waits for the slot
      clock.tick(600);
      timed.handshakeOver(timed.peerOf(first, undefined)); // logged in: the slot goes to second
      expect(timed.peerOf(second, undefined).handshaking).to.equal(true);
      clock.tick(399);
      expect(second.destroyed, 'alive until 1000 ms after its accept').to.equal(false);
      clock.tick(1);
      expect(second.destroyed, 'dropped 1000 ms after its accept, 400 ms after its slot').to.equal(true);
      expect(first.destroyed, 'a logged-in stream has no handshake deadline any more').to.equal(false);
    } finally {
      timed.close();
      clock.restore();
    }
  });

  it('a silent stream takes no slot; once it speaks it takes the free one', async () => {
    const silent = new PassThrough();
    queue.admit(silent, 'a');
    expect(injected).to.deep.equal([]);
    expect(queue.queued).to.equal(1);
    silent.write('SSH-2.0-late\r\n');
    await until(() => injected.length === 1);
    expect(injected[0].stream).to.equal(silent);
    expect(silent.read()?.toString(), 'no byte consumed before ssh2 has the stream').to.equal(
      'SSH-2.0-late\r\n',
    );
  });

  it('per address: the stream over maxHandshakesPerAddress is dropped at accept, other addresses are not', () => {
    const capped = new HandshakeQueue(
      {
        ...settings,
        maxQueuedHandshakes: 10,
        maxHandshakesPerAddress: 2,
        handshakeCapExempt: ['127.0.0.0/8'],
      },
      () => undefined,
    );
    try {
      const fromA = [spoken(), spoken(), spoken()];
      for (const s of fromA) capped.admit(s, '10.0.0.1');
      expect(fromA.map((s) => s.destroyed)).to.deep.equal([false, false, true]);
      const fromB = spoken();
      capped.admit(fromB, '10.0.0.2');
      expect(fromB.destroyed).to.equal(false);
      capped.handshakeOver(capped.peerOf(fromA[0], undefined)); // logged in: no longer counted
      const again = spoken();
      capped.admit(again, '10.0.0.1');
      expect(again.destroyed, 'a login frees its place').to.equal(false);
      const local = [spoken(), spoken(), spoken()];
      for (const s of local) capped.admit(s, '127.0.0.1');
      expect(
        local.map((s) => s.destroyed),
        'exempt address',
      ).to.deep.equal([false, false, false]);
    } finally {
      capped.close();
    }
  });
});
