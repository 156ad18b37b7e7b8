import { expect } from 'chai';
import { once } from 'node:events';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import WebSocket from 'ws';
import { NatsServerProcess, natsServerOrSkip } from '../support/nats-server.ts';
import { sharedPostgres, type TestPostgres } from '../support/postgres.ts';
import { Cluster } from './helpers/cluster.ts';
import { wakeOrTimeout } from './helpers/eventually.ts';
import { BIN, freePort, Proc, requireBuilt } from './helpers/processes.ts';

interface Health {
  data: { status: string; nats?: { kind: string; ok: boolean; detail?: string }; node_id: string };
}

/** A listener on /api/v1/ws/uploads that keeps every message as the node sent it, byte for byte. */
class RawListener {
  readonly raw: string[] = [];
  private readonly waiters = new Set<() => void>();

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (d) => {
      this.raw.push(d.toString());
      for (const w of [...this.waiters]) w();
    });
  }

  static async open(apiUrl: string, token: string): Promise<RawListener> {
    const ws = new WebSocket(`${apiUrl.replace(/^http/, 'ws')}/api/v1/ws/uploads`, ['bearer', token]);
    await once(ws, 'open');
    return new RawListener(ws);
  }

  /** The messages about upload uuid, once there is one (or the wait fails naming it). */
  async of(uuid: string, ms = 30_000): Promise<string[]> {
    const deadline = Date.now() + ms;
    for (;;) {
      const mine = this.raw.filter((t) => (JSON.parse(t) as { uuid: string }).uuid === uuid);
      if (mine.length > 0) return mine;
      if (Date.now() > deadline) throw new Error(`no message about ${uuid} within ${ms / 1000} s`);
      await wakeOrTimeout(this.waiters, deadline - Date.now());
    }
  }

  /** Resolves once the node answered a ping: whatever it sent this listener before is here by then. */
  async settled(): Promise<void> {
    this.ws.ping();
    await once(this.ws, 'pong');
  }
}

const occurrences = (text: string, s: string): number => text.split(s).length - 1;

async function healthOf(url: string): Promise<{ status: number; body: Health }> {
  const res = await fetch(`${url}/health`);
  return { status: res.status, body: (await res.json()) as Health };
}

/** Until GET /health of url answers `status`; the last answer. */
async function healthBecomes(url: string, status: number): Promise<{ status: number; body: Health }> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const h = await healthOf(url);
    if (h.status === status || Date.now() > deadline) return h;
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function login(url: string, username: string, password: string): Promise<string> {
  const res = await fetch(`${url}/api/v1/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username, password }),
  });
  expect(res.status, `login of ${username} on ${url}`).to.equal(200);
  return ((await res.json()) as { data: { token: string } }).data.token;
}

// Issue 21 items 3 and 6: two rportd nodes on one PostgreSQL and one nats-server. The agent is
// connected to node 1; listeners on node 2 hear its outcomes, with the same per-user filtering. Then
// NATS is stopped and started again under both nodes.
describe('e2e: outcomes across two rportd nodes (PostgreSQL and NATS), and a NATS restart', function () {
  this.timeout(240_000);
  let pg: TestPostgres | undefined;
  let nats: NatsServerProcess | undefined;
  let dbUrl = '';
  let c: Cluster | undefined;
  let node2: Proc | undefined;
  const listeners: RawListener[] = [];
  before(async function () {
    pg = await sharedPostgres(this, 'the cluster outcomes process test');
    nats = await NatsServerProcess.start(await natsServerOrSkip(this, 'the cluster outcomes process test'));
    requireBuilt();
  });
  after(async () => {
    listeners.forEach((l) => l.ws.terminate());
    await node2?.stop();
    await c?.stop();
    await nats?.dispose();
    if (pg && dbUrl) await pg.drop(dbUrl);
  });

  it("node 2's admin hears node 1's outcomes, its other user does not; NATS down is 503, then it recovers", async () => {
    dbUrl = await pg!.emptyDatabase();
    const cluster = (id: string): string =>
      `[cluster]\nnode_id = "${id}"\ndatabase_url = "${dbUrl}"\nnats_url = "${nats!.url}"\n`;
    c = await Cluster.start({ agents: [{ id: 'co-1' }], databaseUsers: true, sections: cluster('node-1') });
    const created = await c.api('POST', '/api/v1/users', {
      username: 'nora',
      password: 'nora-password-1',
      groups: [],
    });
    expect(created.status, JSON.stringify(created.body)).to.equal(201);

    const [api2, ssh2] = [await freePort(), await freePort()];
    const url2 = `http://127.0.0.1:${api2}`;
    const conf2 = join(c.dir, 'node-2.conf');
    await writeFile(
      conf2,
      `[server]\naddress = "127.0.0.1:${ssh2}"\ndata_dir = "node-2-data"\nauth = "${c.agentAuth}"\n\n` +
        `[api]\naddress = "127.0.0.1:${api2}"\n${cluster('node-2')}`,
      { mode: 0o600 },
    );
    node2 = new Proc('node-2', BIN.rportd, ['--config', conf2]);
    await node2.waitFor(/rportd API listening on/, 30_000);
    expect(node2.output(), 'node 2 found the users node 1 made').not.to.contain('with password:');

    const adminOn1 = await RawListener.open(c.url, c.token);
    const adminOn2 = await RawListener.open(url2, await login(url2, c.admin.username, c.admin.password));
    const noraOn2 = await RawListener.open(url2, await login(url2, 'nora', 'nora-password-1'));
    listeners.push(adminOn1, adminOn2, noraOn2);
    const upload = (name: string) =>
      c!.upload({ name: 'upload', filename: name, content: Buffer.from(`${name}\n`) }, [
        ['client_id', 'co-1'],
        ['dest', c!.dest(`co/${name}`)],
      ]);

    const first = await upload('first.txt');
    expect(first.status, JSON.stringify(first.body)).to.equal(200);
    const uuid = (first.body.data as { uuid: string }).uuid;
    const [onNode1] = await adminOn1.of(uuid);
    expect(JSON.parse(onNode1)).to.deep.include({ uuid, client_id: 'co-1', status: 'success' });
    expect(await adminOn2.of(uuid), 'node 2: the same bytes, once').to.deep.equal([onNode1]);
    await noraOn2.settled();
    expect(noraOn2.raw, 'nora did not make the upload').to.deep.equal([]);

    // NATS goes away under both nodes.
    await nats!.stop();
    const down = await healthBecomes(c.url, 503);
    expect(down.status, JSON.stringify(down.body)).to.equal(503);
    expect(down.body.data.status).to.equal('degraded');
    expect(down.body.data.nats).to.deep.include({ kind: 'nats', ok: false });
    expect((await healthBecomes(url2, 503)).status).to.equal(503);
    const refused = await upload('during.txt');
    expect(refused.status, JSON.stringify(refused.body)).to.equal(503);
    const [err] = refused.body.errors as { code: string; detail: string }[];
    expect(err.code).to.equal('nats-unavailable');
    expect(err.detail).to.contain('[cluster] nats_url');
    expect(await c.filepush(), 'nothing staged').to.deep.equal([]);

    // It comes back: both nodes recover by themselves, and relay again.
    await nats!.resume();
    expect((await healthBecomes(c.url, 200)).body.data.nats).to.deep.equal({ kind: 'nats', ok: true });
    expect((await healthBecomes(url2, 200)).status).to.equal(200);
    const again = await upload('after.txt');
    expect(again.status, JSON.stringify(again.body)).to.equal(200);
    const uuid2 = (again.body.data as { uuid: string }).uuid;
    const [after1] = await adminOn1.of(uuid2);
    expect(await adminOn2.of(uuid2)).to.deep.equal([after1]);
    expect(JSON.parse(after1)).to.deep.include({ status: 'success' });
    expect(c.rportd.running && node2.running, 'both nodes still run').to.equal(true);

    for (const [name, log] of [
      ['node 1', c.rportd.output()],
      ['node 2', node2.output()],
    ]) {
      expect(occurrences(log, 'NATS unreachable'), `${name}: ${log}`).to.equal(1);
      expect(occurrences(log, 'NATS answers again'), `${name}: ${log}`).to.equal(1);
      expect(log, name).not.to.contain('cluster event from NATS dropped');
    }
  });
});
