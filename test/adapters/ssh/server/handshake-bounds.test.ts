import { expect } from 'chai';
import { connect, type Socket } from 'node:net';
import { rm } from 'node:fs/promises';
import { startAgent, startServer, type TestAgent, type TestServer } from '../harness.ts';
import { until } from '../rogue.ts';

/**
 * Issue 17 #5 against a real AgentListener and real ssh2. Linux routes all of 127/8 to lo, so
 * `localAddress` picks each socket's source address.
 */

const IDENT = 'SSH-2.0-stall\r\n';

/** A raw TCP socket from `from`: silent, or sending its SSH identification and then nothing. */
function rawSocket(port: number, from: string, ident = false): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect({ port, host: '127.0.0.1', localAddress: from }, () => {
      s.off('error', reject);
      s.on('error', () => undefined);
      if (ident) s.write(IDENT);
      resolve(s);
    });
    s.once('error', reject);
  });
}

/** Resolves with the bytes the server sent before it closed the socket. */
const closedWith = (s: Socket): Promise<string> =>
  new Promise((resolve) => {
    let got = '';
    s.on('data', (d: Buffer) => (got += d.toString()));
    s.once('close', () => resolve(got));
  });

/** Resolves once the server sent something: the socket holds a handshake slot. */
const served = (s: Socket): Promise<void> => new Promise((resolve) => s.once('data', () => resolve()));

/** `count` stalled sockets from `addresses` addresses in 127.0.1.0/24, each reopened when dropped. */
class Storm {
  dropped = 0;
  private readonly open = new Set<Socket>();
  private stopped = false;

  constructor(
    private readonly port: number,
    private readonly ident: boolean,
  ) {}

  async start(count: number, addresses: number): Promise<void> {
    await Promise.all(Array.from({ length: count }, (_, i) => this.one(`127.0.1.${(i % addresses) + 1}`)));
  }

  stop(): void {
    this.stopped = true;
    for (const s of this.open) s.destroy();
  }

  private async one(from: string): Promise<void> {
    const s = await rawSocket(this.port, from, this.ident);
    s.resume();
    this.open.add(s);
    s.once('close', () => {
      this.open.delete(s);
      if (this.stopped) return;
      this.dropped += 1;
      void this.one(from).catch(() => undefined);
    });
  }
}

describe('SSH listener under a storm of stalled sockets (issue 17 #5)', function () {
  this.timeout(30_000);
  const deadlineMs = 3000;
  let server: TestServer | undefined;
  let storm: Storm | undefined;
  const agents: TestAgent[] = [];

  afterEach(async () => {
    storm?.stop();
    storm = undefined;
    await Promise.all(agents.splice(0).map((a) => a.stop()));
    await server?.stop();
    if (server) await rm(server.dataDir, { recursive: true, force: true });
    server = undefined;
  });

  it('300 silent sockets from 200 addresses: a real agent connects before any of them reaches its deadline', async () => {
    // No exemption: the per-address cap (default) is on for these loopback addresses too.
    server = await startServer({ settings: { handshakeTimeoutMs: deadlineMs, handshakeCapExempt: [] } });
    storm = new Storm(server.port, false);
    await storm.start(300, 200);
    await new Promise((r) => setTimeout(r, 100)); // the server has accepted them all
    const started = Date.now();
    const agent = await startAgent(server, 'good', { backoffMs: 100 });
    agents.push(agent);
    const took = Date.now() - started;
    // The bound: every stalled socket still alive (none at its deadline yet), so the agent did not
    // wait for any of them; and it did so on its first attempt, well within 10 s.
    expect(storm.dropped, 'stalled sockets dropped before the agent was in').to.equal(0);
    expect(agent.failures.map((e) => e.message)).to.deep.equal([]);
    expect(took).to.be.lessThan(deadlineMs);
    // They were held, not refused: each goes at its deadline from accept, and comes back.
    await until(() => storm!.dropped >= 300);
    expect(agent.connection.connected).to.equal(true);
  });

  it('300 sockets that send their ident and stall, in every slot and queued: an agent behind them gets in on its first attempt', async () => {
    server = await startServer({ settings: { handshakeTimeoutMs: deadlineMs, handshakeCapExempt: [] } });
    storm = new Storm(server.port, true);
    await storm.start(300, 200);
    await new Promise((r) => setTimeout(r, 1000));
    // The 236 queued ahead of it must not live past their deadline from accept when they get a
    // slot: if their deadline restarted there, this agent would reach its own first and fail.
    const agent = await startAgent(server, 'patient', { backoffMs: 100 });
    agents.push(agent);
    expect(agent.failures.map((e) => e.message)).to.deep.equal([]);
    expect(storm.dropped, 'it waited for the stalled sockets ahead of it').to.be.greaterThan(0);
  });
});

describe('SSH listener: concurrent handshakes per address (issue 17 #5)', function () {
  this.timeout(20_000);
  let server: TestServer | undefined;
  const sockets: Socket[] = [];
  const agents: TestAgent[] = [];

  afterEach(async () => {
    for (const s of sockets.splice(0)) s.destroy();
    await Promise.all(agents.splice(0).map((a) => a.stop()));
    await server?.stop();
    if (server) await rm(server.dataDir, { recursive: true, force: true });
    server = undefined;
  });

  it('the 4th concurrent socket from one address is dropped at accept while another address is served', async () => {
    server = await startServer({
      settings: { maxHandshakesPerAddress: 3, handshakeCapExempt: [], handshakeTimeoutMs: 60_000 },
    });
    const three = await Promise.all([1, 2, 3].map(() => rawSocket(server!.port, '127.0.0.2', true)));
    sockets.push(...three);
    await Promise.all(three.map(served));
    const fourth = await rawSocket(server.port, '127.0.0.2', true);
    sockets.push(fourth);
    // Dropped long before the 60 s deadline, with not even the server's ident sent.
    expect(await closedWith(fourth)).to.equal('');
    const other = await rawSocket(server.port, '127.0.0.3', true);
    sockets.push(other);
    await served(other);
    const agent = await startAgent(server, 'neighbour', { backoffMs: 60_000 });
    agents.push(agent);
    expect(agent.failures).to.deep.equal([]);
    // A place frees when one of the three goes.
    three[0].destroy();
    await until(() => three[0].destroyed);
    await new Promise((r) => setTimeout(r, 50));
    const again = await rawSocket(server.port, '127.0.0.2', true);
    sockets.push(again);
    await served(again);
    expect(three.slice(1).every((s) => !s.destroyed)).to.equal(true);
  });

  it('loopback is exempt by default: 20 concurrent handshakes from 127.0.0.1 are all served', async () => {
    server = await startServer({ settings: { maxHandshakesPerAddress: 3, handshakeTimeoutMs: 60_000 } });
    const many = await Promise.all(
      Array.from({ length: 20 }, () => rawSocket(server!.port, '127.0.0.1', true)),
    );
    sockets.push(...many);
    await Promise.all(many.map(served));
    expect(many.every((s) => !s.destroyed)).to.equal(true);
  });
});
