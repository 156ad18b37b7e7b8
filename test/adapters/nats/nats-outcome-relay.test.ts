import { expect } from 'chai';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { connect, type NatsConnection, type Subscription } from '@nats-io/transport-node';
import WebSocket, { WebSocketServer } from 'ws';
import { MemoryLogger } from '../../../src/adapters/memory/memory-logger.ts';
import { NatsOutcomeRelay } from '../../../src/adapters/nats/nats-outcome-relay.ts';
import { OUTCOME_SUBJECT, PROGRESS_SUBJECT } from '../../../src/adapters/nats/nats-outcome-relay-events.ts';
import { WsResultBroadcaster } from '../../../src/adapters/ws/ws-result-broadcaster.ts';
import type { PushOutcome } from '../../../src/domain/outcome.ts';
import { PROGRESS_STEPS } from '../../../src/domain/transfer-progress.ts';
import { NatsServerProcess, natsServerOrSkip } from '../../support/nats-server.ts';
import { eventually } from '../http/http-harness.ts';
import { reconnected } from './nats-fixture.ts';

const MiB = 1024 * 1024;

/** One node: a real WebSocket hub on loopback, behind its relay on its own NATS connection. */
interface Node {
  id: string;
  http: Server;
  hub: WsResultBroadcaster;
  nc: NatsConnection;
  relay: NatsOutcomeRelay;
  logger: MemoryLogger;
  url: string;
}

/** A listener: every text message as the node sent it, byte for byte. */
interface Heard {
  ws: WebSocket;
  raw: string[];
}

async function startNode(id: string, natsUrl: string): Promise<Node> {
  const logger = new MemoryLogger();
  const hub = new WsResultBroadcaster(logger);
  const wss = new WebSocketServer({ noServer: true });
  const http = createServer();
  // The caller comes from the query here: the relay and the hub are under test, not the API's auth.
  http.on('upgrade', (req, socket, head) => {
    const q = new URL(req.url!, 'http://x').searchParams;
    wss.handleUpgrade(req, socket, head, (ws) =>
      hub.add(
        ws,
        { username: q.get('user')!, admin: q.get('admin') === '1', groups: [] },
        { progress: q.get('progress') === '1' },
      ),
    );
  });
  await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
  const nc = await connect({ servers: natsUrl, maxReconnectAttempts: -1, reconnectTimeWait: 200 });
  const relay = new NatsOutcomeRelay(hub, nc, { nodeId: id, logger });
  await nc.flush(); // the subscriptions are on the server before anything is published
  return { id, http, hub, nc, relay, logger, url: `ws://127.0.0.1:${(http.address() as AddressInfo).port}` };
}

async function stopNode(n: Node): Promise<void> {
  n.relay.close();
  n.hub.close();
  await n.nc.close();
  n.http.closeAllConnections();
  await new Promise((r) => n.http.close(r));
}

function listen(n: Node, user: string, opts: { admin?: boolean; progress?: boolean } = {}): Promise<Heard> {
  const q = `?user=${user}&admin=${opts.admin ? 1 : 0}&progress=${opts.progress ? 1 : 0}`;
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`${n.url}/${q}`);
    const raw: string[] = [];
    ws.on('message', (d) => raw.push(d.toString()));
    ws.once('open', () => resolve({ ws, raw }));
    ws.once('error', reject);
  });
}

const outcome = (uuid: string, clientId: string, extra: Partial<PushOutcome> = {}): PushOutcome => ({
  client_id: clientId,
  uuid,
  filepath: '/etc/app.conf',
  size: 12,
  message: 'file successfully copied to destination /etc/app.conf',
  status: 'success',
  changed: true,
  ...extra,
});

const of = (h: Heard, uuid: string): string[] =>
  h.raw.filter((t) => (JSON.parse(t) as PushOutcome).uuid === uuid);

/** Until each listener has `count` messages of uuid. */
const arrived = (uuid: string, count: number, ...hs: Heard[]): Promise<true> =>
  eventually(
    async () => (hs.every((h) => of(h, uuid).length >= count) ? true : undefined),
    `${count} of ${uuid}`,
  );

describe('NatsOutcomeRelay: two nodes on a real nats-server, real WebSocket listeners', function () {
  this.timeout(60_000);
  let server: NatsServerProcess;
  let a: Node;
  let b: Node;
  let bus: NatsConnection;
  const heard: Heard[] = [];
  const on = async (
    n: Node,
    user: string,
    opts?: { admin?: boolean; progress?: boolean },
  ): Promise<Heard> => {
    const h = await listen(n, user, opts);
    heard.push(h);
    return h;
  };
  /** Counts what crosses the bus on a subject: what each node really published. */
  const tap = (subject: string): { seen: string[]; sub: Subscription } => {
    const seen: string[] = [];
    const sub = bus.subscribe(subject, {
      callback: (_e, m) => {
        seen.push(m.string());
      },
    });
    return { seen, sub };
  };

  before(async function () {
    server = await NatsServerProcess.start(await natsServerOrSkip(this, 'the NATS outcome relay tests'));
  });
  beforeEach(async () => {
    if (!server.running) await server.resume();
    [a, b] = [await startNode('node-a', server.url), await startNode('node-b', server.url)];
    bus = await connect({ servers: server.url });
  });
  afterEach(async () => {
    heard.splice(0).forEach((h) => h.ws.terminate());
    await bus.close();
    await Promise.all([a, b].map(stopNode));
  });
  after(() => server?.dispose());

  it('an outcome reaches every node once, byte-identical, filtered by the uploader as on its own node', async () => {
    const [adminA, adminB, aliceB, bobB] = [
      await on(a, 'root', { admin: true }),
      await on(b, 'root', { admin: true }),
      await on(b, 'alice'),
      await on(b, 'bob'),
    ];
    const wire = tap(OUTCOME_SUBJECT);
    await bus.flush();
    const o = outcome('u-1', 'web-1', {
      backup: '/etc/app.conf.20261204T204901Z.bak',
      diff: '@@ -1 +1 @@\n-a\n+b\n',
    });
    a.relay.publish(o, 'alice');
    // A later outcome, published on node B, marks the end: the first has had every chance to come twice.
    await arrived('u-1', 1, adminA, adminB, aliceB);
    b.relay.publish(outcome('u-end', 'web-1'), 'bob');
    await arrived('u-end', 1, adminA, adminB, bobB);

    const [text] = of(adminA, 'u-1');
    expect(JSON.parse(text)).to.deep.equal(o);
    expect(of(adminA, 'u-1'), 'node A: its own outcome once').to.deep.equal([text]);
    expect(of(adminB, 'u-1'), 'node B admin: the same bytes, once').to.deep.equal([text]);
    expect(of(aliceB, 'u-1'), 'node B, the uploader').to.deep.equal([text]);
    expect(of(bobB, 'u-1'), 'node B, another user').to.deep.equal([]);
    expect(of(bobB, 'u-end')).to.have.length(1);
    expect(of(aliceB, 'u-end'), "alice may not read bob's upload").to.deep.equal([]);
    // Each outcome crossed the bus once: the receiving node never published it again.
    // The marker came after node B handled the first, so anything node B sent again is on the wire before it.
    const uuidOf = (m: string): string => (JSON.parse(m) as { outcome: PushOutcome }).outcome.uuid;
    await eventually(
      async () => (wire.seen.some((m) => uuidOf(m) === 'u-end') ? true : undefined),
      'the marker',
    );
    expect(wire.seen.map((m) => (JSON.parse(m) as { node: string }).node)).to.deep.equal([
      'node-a',
      'node-b',
    ]);
    expect(a.relay.droppedCount + b.relay.droppedCount).to.equal(0);
  });

  it('progress crosses to listeners that asked for it, and the per-push limit holds for what the bus brings', async () => {
    const [progA, progB, plainB] = [
      await on(a, 'root', { admin: true, progress: true }),
      await on(b, 'root', { admin: true, progress: true }),
      await on(b, 'root', { admin: true }),
    ];
    a.relay.progress({ uuid: 'u-p', client_id: 'web-1', bytes: MiB, size: 4 * MiB }, 'alice');
    await arrived('u-p', 1, progA, progB);
    expect(of(progB, 'u-p')).to.deep.equal(of(progA, 'u-p'));
    expect(JSON.parse(of(progB, 'u-p')[0])).to.deep.equal({
      type: 'progress',
      uuid: 'u-p',
      client_id: 'web-1',
      bytes: MiB,
      size: 4 * MiB,
    });

    // Something on the bus claiming to be node C floods one push with progress: listeners get at most
    // PROGRESS_STEPS of it, each further on than the last.
    const size = 400 * MiB;
    for (let i = 1; i <= PROGRESS_STEPS + 50; i++) {
      const bytes = i === 10 ? 1 : i * MiB; // one going back is dropped too
      bus.publish(
        PROGRESS_SUBJECT,
        JSON.stringify({
          v: 1,
          node: 'node-c',
          requested_by: 'alice',
          progress: { uuid: 'u-flood', client_id: 'web-1', bytes, size },
        }),
      );
    }
    bus.publish(
      OUTCOME_SUBJECT,
      JSON.stringify({ v: 1, node: 'node-c', requested_by: 'alice', outcome: outcome('u-flood', 'web-1') }),
    );
    await bus.flush();
    await eventually(
      async () => (of(plainB, 'u-flood').length === 1 ? true : undefined),
      'the flood outcome',
    );
    await a.hub.flushed();
    await b.hub.flushed();
    const progress = of(progB, 'u-flood').filter(
      (t) => (JSON.parse(t) as { type?: string }).type === 'progress',
    );
    expect(progress).to.have.length(PROGRESS_STEPS);
    expect(of(plainB, 'u-flood'), 'no progress for a listener that did not ask').to.have.length(1);
    expect(b.relay.droppedCount).to.equal(50);
  });

  it('an outcome too large for one NATS message reaches the other node with its diff replaced by a line', async () => {
    const [adminA, adminB] = [await on(a, 'root', { admin: true }), await on(b, 'root', { admin: true })];
    const diff = `@@ -1 +1 @@\n-${'a'.repeat(600 * 1024)}\n+${'b'.repeat(600 * 1024)}\n`;
    a.relay.publish(outcome('u-big', 'web-1', { diff }), 'alice');
    await arrived('u-big', 1, adminA, adminB);
    expect((JSON.parse(of(adminA, 'u-big')[0]) as PushOutcome).diff, 'node A: the diff itself').to.equal(
      diff,
    );
    const there = JSON.parse(of(adminB, 'u-big')[0]) as PushOutcome;
    expect(there).to.deep.equal(outcome('u-big', 'web-1', { diff: there.diff }));
    expect(there.diff).to.match(/^no diff: over the 1048576 bytes a message between rportd nodes may hold$/);
  });

  it('drops what is not a valid event, with a rate-limited warning, and keeps relaying', async () => {
    const adminB = await on(b, 'root', { admin: true });
    const good = { v: 1, node: 'node-c', requested_by: 'alice', outcome: outcome('u-ok', 'web-1') };
    const bad: [string, string][] = [
      [OUTCOME_SUBJECT, 'not json {'],
      [OUTCOME_SUBJECT, '[]'],
      [OUTCOME_SUBJECT, JSON.stringify({ ...good, v: 2 })],
      [OUTCOME_SUBJECT, JSON.stringify({ ...good, node: '' })],
      [OUTCOME_SUBJECT, JSON.stringify({ ...good, extra: 1 })],
      [OUTCOME_SUBJECT, JSON.stringify({ ...good, outcome: { ...good.outcome, status: 'done' } })],
      [OUTCOME_SUBJECT, JSON.stringify({ ...good, outcome: { ...good.outcome, size: -1 } })],
      [OUTCOME_SUBJECT, JSON.stringify({ ...good, outcome: { ...good.outcome, changed: 'yes' } })],
      [OUTCOME_SUBJECT, JSON.stringify({ ...good, outcome: { ...good.outcome, html: '<b>' } })],
      [PROGRESS_SUBJECT, JSON.stringify(good)],
      [OUTCOME_SUBJECT, JSON.stringify({ ...good, requested_by: 7 })],
      [OUTCOME_SUBJECT, JSON.stringify({ v: 1, node: 'node-c', requested_by: 'a', progress: {} })],
    ];
    for (const [subject, data] of bad) bus.publish(subject, data);
    bus.publish(OUTCOME_SUBJECT, JSON.stringify(good));
    await bus.flush();
    await arrived('u-ok', 1, adminB);
    await b.hub.flushed();
    expect(adminB.raw.map((t) => (JSON.parse(t) as PushOutcome).uuid)).to.deep.equal(['u-ok']);
    expect(b.relay.droppedCount).to.equal(bad.length);
    const warns = b.logger.lines.filter(
      (l) => l.level === 'warn' && l.message === 'cluster event from NATS dropped',
    );
    // At most 10 lines a minute; the rest are counted in one more line.
    expect(warns).to.have.length(10);
    expect(warns.map((w) => w.fields.reason)).to.include('the message is not JSON');
    b.relay.close();
    const summary = b.logger.lines.find((l) => l.message.startsWith('cluster event from NATS dropped: '));
    expect(summary?.fields.suppressed).to.equal(bad.length - 10);
  });

  it('relays again once NATS is back after a restart', async () => {
    const adminB = await on(b, 'root', { admin: true });
    const back = [reconnected(a.nc), reconnected(b.nc)];
    await server.stop();
    await server.resume();
    await Promise.all(back);
    await b.nc.flush(); // node B's subscriptions are on the restarted server
    a.relay.publish(outcome('u-after', 'web-1'), 'alice');
    await arrived('u-after', 1, adminB);
    expect(JSON.parse(of(adminB, 'u-after')[0])).to.deep.equal(outcome('u-after', 'web-1'));
  });
});
