import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { copyFile, readFile, rm } from 'node:fs/promises';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { join } from 'node:path';
import { TcpTransport, WebSocketTransport } from '../../../../src/adapters/ssh/agent/transport.ts';
import { startAgent, startServer, tempDir, type TestAgent, type TestServer } from '../harness.ts';

/** A loopback port with nothing listening on it: a node that is down. */
async function deadPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const { port } = s.address() as AddressInfo;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

const tcp = (port: number): TcpTransport => new TcpTransport('127.0.0.1', port);
const at = (port: number): string => `127.0.0.1:${port}`;

/** The connects and switches the agent logged, in order, as short strings. */
function attempts(agent: TestAgent): string[] {
  return agent.logger.lines.flatMap((l) => {
    if (l.message === 'connected to the server') return [`connected ${String(l.fields.server)}`];
    if (l.message === 'switching to the next server')
      return [`switch ${String(l.fields.from)} -> ${String(l.fields.to)}`];
    if (l.message.startsWith('no server of the list answered'))
      return [`round failed ${String(l.fields.from)} -> ${String(l.fields.to)}`];
    return [];
  });
}

describe('agent failover: [client] server with several rportd nodes (real ssh2)', function () {
  this.timeout(30_000);
  const servers: TestServer[] = [];
  const agents: TestAgent[] = [];
  const dirs: string[] = [];

  /** A node with the host key of `like`, as the nodes of a cluster share theirs. */
  async function nodeLike(like: TestServer): Promise<TestServer> {
    const dataDir = await tempDir('node');
    await copyFile(join(like.dataDir, 'rportd_host_key'), join(dataDir, 'rportd_host_key'));
    const node = await startServer({ dataDir });
    servers.push(node);
    return node;
  }

  afterEach(async () => {
    await Promise.all(agents.splice(0).map((a) => a.stop()));
    for (const s of servers.splice(0)) {
      await s.stop();
      dirs.push(s.dataDir);
    }
    for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
  });

  it('first node stopped: the agent moves to the second, logs the switch, and a push through the second succeeds', async () => {
    const first = await startServer();
    servers.push(first);
    const second = await nodeLike(first);
    expect(second.fingerprint, 'both nodes present the one host key').to.equal(first.fingerprint);
    const agent = await startAgent(first, 'mover', { transport: [tcp(first.port), tcp(second.port)] });
    agents.push(agent);
    expect(first.presence.clients.get('mover')?.connected).to.equal(true);
    expect(second.presence.clients.has('mover')).to.equal(false);

    const arrived = second.presence.waitFor('announce', 'mover');
    const welcomed = new Promise((resolve) => agent.connection.once('connected', resolve));
    await first.stop();
    servers.splice(servers.indexOf(first), 1);
    dirs.push(first.dataDir);
    await Promise.all([arrived, welcomed]);

    expect(attempts(agent)).to.deep.equal([
      `connected ${at(first.port)}`,
      `switch ${at(first.port)} -> ${at(second.port)}`,
      `connected ${at(second.port)}`,
    ]);
    const switched = agent.logger.lines.find((l) => l.message === 'switching to the next server')!;
    expect(switched.level).to.equal('warn');
    expect(switched.fields.reason).to.be.a('string').and.not.equal('');
    expect(agent.connection.server).to.equal(at(second.port));

    const destDir = await tempDir('dest');
    dirs.push(destDir);
    const content = randomBytes(200_000);
    const [o] = await second.push(content, ['mover'], join(destDir, 'after-failover.bin'));
    expect(o.status, o.message).to.equal('success');
    expect((await readFile(join(destDir, 'after-failover.bin'))).equals(content)).to.equal(true);
  });

  it('a dead first entry at start: the agent goes straight to the second, with no backoff between them', async () => {
    const node = await startServer();
    servers.push(node);
    const dead = await deadPort();
    // A backoff of a minute: had it been paid between the two entries, the test would time out.
    const agent = await startAgent(node, 'skipper', {
      transport: [tcp(dead), tcp(node.port)],
      backoffMs: 60_000,
    });
    agents.push(agent);
    expect(attempts(agent)).to.deep.equal([
      `switch ${at(dead)} -> ${at(node.port)}`,
      `connected ${at(node.port)}`,
    ]);
    const switched = agent.logger.lines.find((l) => l.message === 'switching to the next server')!;
    expect(switched.fields.retry_in_ms).to.equal(0);
    expect(String(switched.fields.reason)).to.match(/cannot reach 127\.0\.0\.1:\d+: connect ECONNREFUSED/);
  });

  it('the fingerprint pin holds for every entry: a node with another host key is refused and the next one used', async () => {
    const node = await startServer();
    servers.push(node);
    const impostor = await startServer();
    servers.push(impostor);
    expect(impostor.fingerprint).to.not.equal(node.fingerprint);
    const agent = await startAgent(node, 'wary', {
      transport: [tcp(impostor.port), tcp(node.port)],
      backoffMs: 60_000,
    });
    agents.push(agent);
    expect(impostor.presence.clients.has('wary')).to.equal(false);
    expect(node.presence.clients.get('wary')?.connected).to.equal(true);
    expect(agent.failures.map((e) => e.message)).to.have.length(1);
    expect(agent.failures[0].message).to.include(`host key mismatch for ${at(impostor.port)}`);
    expect(attempts(agent)).to.deep.equal([
      `switch ${at(impostor.port)} -> ${at(node.port)}`,
      `connected ${at(node.port)}`,
    ]);
  });

  it('a node that accepts but never answers (a hung host) costs the connect timeout, then the next entry is used', async () => {
    const node = await startServer();
    servers.push(node);
    const held: Socket[] = [];
    const hung = createServer((s) => void held.push(s));
    await new Promise<void>((resolve) => hung.listen(0, '127.0.0.1', resolve));
    const hungUrl = `ws://127.0.0.1:${(hung.address() as AddressInfo).port}/api/v1/ws/agents`;
    try {
      const agent = await startAgent(node, 'unstuck', {
        transport: [new WebSocketTransport(hungUrl, 300), tcp(node.port)],
        backoffMs: 60_000,
      });
      agents.push(agent);
      expect(attempts(agent)).to.deep.equal([
        `switch ${hungUrl} -> ${at(node.port)}`,
        `connected ${at(node.port)}`,
      ]);
      expect(agent.failures[0].message).to.match(/cannot reach ws:.*timed out/i);
    } finally {
      for (const s of held) s.destroy();
      await new Promise<void>((resolve) => hung.close(() => resolve()));
    }
  });

  it('every entry dead: one attempt each per round, then back to the first after the backoff', async () => {
    const node = await startServer();
    servers.push(node);
    const [a, b] = [await deadPort(), await deadPort()];
    const agent = await startAgent(node, 'patient', {
      transport: [tcp(a), tcp(b)],
      backoffMs: 20,
      wait: false,
    });
    agents.push(agent);
    // Two full rounds: a, b, (backoff) a, b, (backoff) a.
    while (agent.failures.length < 4) await new Promise((r) => agent.connection.once('failure', r));
    const steps = attempts(agent).slice(0, 4);
    expect(steps).to.deep.equal([
      `switch ${at(a)} -> ${at(b)}`,
      `round failed ${at(b)} -> ${at(a)}`,
      `switch ${at(a)} -> ${at(b)}`,
      `round failed ${at(b)} -> ${at(a)}`,
    ]);
    const waits = agent.logger.lines
      .filter((l) => l.message !== 'connected to the server')
      .map((l) => Number(l.fields.retry_in_ms));
    expect(waits[0], 'within a round: no wait').to.equal(0);
    expect(waits[1], 'after a round: the backoff').to.be.greaterThan(0);
  });
});
