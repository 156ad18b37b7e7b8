import { expect } from 'chai';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { NatsServerProcess, natsServerOrSkip } from '../support/nats-server.ts';
import { privatePostgres, type TestPostgres } from '../support/postgres.ts';
import { ClusterNodes, type ClusterNode } from './helpers/cluster-nodes.ts';
import { eventually } from './helpers/eventually.ts';
import { HoldingProxy } from './helpers/holding-proxy.ts';
import { OutcomeListener } from './helpers/outcome-listener.ts';
import { requireBuilt } from './helpers/processes.ts';

const md5 = (b: Buffer): string => createHash('md5').update(b).digest('hex');
const AGENTS = ['a1', 'a2', 'b1', 'b2', 'c1'];
const FILE = 4 * 1024 * 1024;
const FINAL = ['success', 'error', 'ignored'];
const at = (n: ClusterNode): string => `127.0.0.1:${n.ssh}`;
const seconds = (ms: number): string => (ms / 1000).toFixed(1);

interface Row {
  client_id: string;
  status: string;
  message: string;
  pushed_by: string | null;
}

// Issue 21 item 6: three rportd processes on one PostgreSQL and one nats-server, agents listing the
// nodes in `[client] server`. A node is killed with SIGKILL mid-push, then the node that accepted an
// upload right after its 200; every target still ends with exactly one outcome, and nothing staged
// is left. Then PostgreSQL restarts under the cluster.
describe('e2e: failover of rportd nodes on PostgreSQL and NATS', function () {
  this.timeout(300_000);
  let server: TestPostgres | undefined;
  let nats: NatsServerProcess | undefined;
  let db: pg.Pool | undefined;
  let dir = '';
  let c: ClusterNodes;
  const proxy = new HoldingProxy(0);
  const listeners: OutcomeListener[] = [];

  before(async function () {
    const bin = await natsServerOrSkip(this, 'the cluster failover process test');
    server = await privatePostgres(this, 'the cluster failover process test');
    requireBuilt();
    this.timeout(120_000);
    nats = await NatsServerProcess.start(bin);
    const url = await server.emptyDatabase();
    db = new pg.Pool({ connectionString: url, max: 2 });
    db.on('error', () => undefined);
    dir = await mkdtemp(join(tmpdir(), 'rport-failover-'));
    await symlink('/proc/self/cwd', join(dir, 'host'));
    c = new ClusterNodes(dir, url, nats.url, ['push_timeout = 30', 'max_filepush_size = 67108864']);
    const [one, two, three] = [await c.start('node-1'), await c.start('node-2'), await c.start('node-3')];
    proxy.target = two.ssh;
    await proxy.listen();
    // b1 and b2 reach node-2 through the proxy, which can catch their transfers half-way.
    for (const id of ['a1', 'a2']) await c.startAgent(id, [at(one), at(three), at(two)]);
    for (const id of ['b1', 'b2']) await c.startAgent(id, [`127.0.0.1:${proxy.port}`, at(three), at(one)]);
    await c.startAgent('c1', [at(three), at(one), at(two)]);
  });

  after(async () => {
    for (const l of listeners) l.close();
    await c?.stop();
    await proxy.close();
    await db?.end();
    await nats?.dispose();
    server?.stopSync();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  async function rows(uuid: string): Promise<Row[]> {
    const r = await db!.query<Row>(
      `SELECT client_id, status, message, pushed_by FROM upload_results WHERE uuid = $1 ORDER BY client_id`,
      [uuid],
    );
    return r.rows;
  }

  /** Which node holds each agent's connection, from the shared registry. */
  async function holders(): Promise<Record<string, string | null>> {
    const r = await db!.query<{ id: string; node_id: string | null }>(
      `SELECT id, node_id FROM clients WHERE connected ORDER BY id`,
    );
    return Object.fromEntries(r.rows.map((x) => [x.id, x.node_id]));
  }

  /** Every target final, exactly one outcome each (socket and audit log), nothing pending or staged. */
  async function expectSettled(
    uuid: string,
    rel: string,
    content: Buffer,
    survivors: ClusterNode[],
    l: OutcomeListener,
  ) {
    const final = await rows(uuid);
    expect(final.map((r) => r.client_id)).to.deep.equal(AGENTS);
    for (const r of final) expect(FINAL, `${r.client_id}: ${r.message}`).to.include(r.status);
    for (const r of final.filter((x) => x.status === 'success'))
      expect(md5(await readFile(c.onHost(r.client_id, rel))), r.client_id).to.equal(md5(content));
    const audited = await db!.query<{ client_id: string; n: number }>(
      `SELECT client_id, COUNT(*)::integer AS n FROM audit_log
         WHERE upload_uuid = $1 AND client_id IS NOT NULL AND action IN ('success', 'error', 'ignored')
         GROUP BY client_id ORDER BY client_id`,
      [uuid],
    );
    expect(audited.rows).to.deep.equal(AGENTS.map((id) => ({ client_id: id, n: 1 })));
    const heard = await l.outcomesOf(uuid, AGENTS.length, 30_000);
    expect(
      heard.map((o) => o.client_id),
      'one outcome per target on the socket',
    ).to.deep.equal(AGENTS);
    const queued = await db!.query(`SELECT 1 FROM delivery_queue WHERE uuid = $1`, [uuid]);
    expect(queued.rowCount, 'queued targets left').to.equal(0);
    await eventually(async () => {
      for (const n of survivors) expect(await c.staged(n), `${n.name} filepush/`).to.deep.equal([]);
      expect(await c.bucketMessages(), 'objects in the bucket').to.equal(0);
    }, 60_000);
    return final;
  }

  it('kill -9 of a node mid-transfer: its agents move, the survivors push again, one outcome each', async () => {
    const [one, two, three] = c.nodes;
    const l = await OutcomeListener.open(`http://127.0.0.1:${three.api}`, await c.token(three));
    listeners.push(l);
    const content = randomBytes(FILE);
    proxy.holdAfter(256 * 1024);
    const res = await c.upload(one, { name: 'upload', filename: 'payload.bin', content }, [
      ...AGENTS.map((id): [string, string] => ['client_id', id]),
      ['dest', c.dest('fo/payload.bin')],
    ]);
    expect(res.status).to.equal(200);
    const { uuid } = ((await res.json()) as { data: { uuid: string } }).data;
    // Both of node-2's transfers are caught half-way: the kill lands mid-push, whatever the timing.
    await proxy.held(2, 60_000);
    expect((await rows(uuid)).filter((r) => r.client_id.startsWith('b')).map((r) => r.status)).to.deep.equal([
      'pending',
      'pending',
    ]);
    const killed = Date.now();
    await two.proc!.kill9();
    proxy.cut();
    let moved = 0;
    await eventually(async () => {
      const h = await holders();
      expect(
        [h.b1, h.b2].every((n) => n === 'node-1' || n === 'node-3'),
        JSON.stringify(h),
      ).to.equal(true);
      moved ||= Date.now() - killed;
    }, 60_000);
    let settled = 0;
    await eventually(async () => {
      expect((await rows(uuid)).map((r) => r.status)).not.to.include('pending');
      settled ||= Date.now() - killed;
    }, 180_000);
    const final = await expectSettled(uuid, 'fo/payload.bin', content, [one, three], l);
    // Pushed again by the node each agent moved to, once node-2's claims lapsed with its heartbeat.
    expect(final.map((r) => [r.client_id, r.status])).to.deep.equal(AGENTS.map((id) => [id, 'success']));
    const h = await holders();
    for (const id of ['b1', 'b2'])
      expect(final.find((r) => r.client_id === id)!.pushed_by, id).to.equal(h[id]);
    console.log(
      `      node-2 killed: its agents moved in ${seconds(moved)} s, all targets final in ${seconds(settled)} s`,
    );
  });

  it('kill -9 of the accepting node right after its 200: the others finish every target', async () => {
    const [one, two, three] = c.nodes;
    // node-2 comes back (its agents stay where they are); node-3 and node-2 are the survivors.
    await c.start('node-2');
    const l = await OutcomeListener.open(`http://127.0.0.1:${three.api}`, await c.token(three));
    listeners.push(l);
    const content = randomBytes(FILE);
    const res = await c.upload(one, { name: 'upload', filename: 'payload.bin', content }, [
      ...AGENTS.map((id): [string, string] => ['client_id', id]),
      ['dest', c.dest('fo2/payload.bin')],
    ]);
    expect(res.status).to.equal(200);
    const killed = Date.now();
    await one.proc!.kill9();
    const { uuid } = ((await res.json()) as { data: { uuid: string } }).data;
    let moved = 0;
    await eventually(async () => {
      const h = await holders();
      expect(
        AGENTS.every((id) => h[id] === 'node-2' || h[id] === 'node-3'),
        JSON.stringify(h),
      ).to.equal(true);
      moved ||= Date.now() - killed;
    }, 60_000);
    let settled = 0;
    await eventually(async () => {
      expect((await rows(uuid)).map((r) => r.status)).not.to.include('pending');
      settled ||= Date.now() - killed;
    }, 180_000);
    const final = await expectSettled(uuid, 'fo2/payload.bin', content, [two, three], l);
    expect(final.map((r) => [r.client_id, r.status])).to.deep.equal(AGENTS.map((id) => [id, 'success']));
    const survivors = two.proc!.output() + three.proc!.output();
    if (final.some((r) => r.pushed_by !== 'node-1'))
      expect(survivors).to.match(
        /took over the pending targets of nodes whose heartbeat lapsed|served targets/,
      );
    console.log(
      `      node-1 killed after its 200: agents moved in ${seconds(moved)} s, all targets final in ${seconds(settled)} s; ` +
        `pushed by ${final.map((r) => `${r.client_id}:${r.pushed_by}`).join(' ')}`,
    );
  });

  it('PostgreSQL restarts under the cluster: 503 and /health meanwhile; no live node’s target is taken', async () => {
    const [, two, three] = c.nodes;
    const health = async (n: ClusterNode): Promise<number> =>
      (await fetch(`http://127.0.0.1:${n.api}/health`)).status;
    // c1 goes away, so that node-2's target for it stays pending (queued, offline_ttl) across the outage.
    await c.agents.get('c1')!.stop();
    await eventually(async () => void expect((await holders()).c1).to.equal(undefined), 30_000);
    const content = Buffer.from('waits across the outage\n');
    const res = await c.upload(two, { name: 'upload', filename: 'later.txt', content }, [
      ['client_id', 'c1'],
      ['dest', c.dest('fo3/later.txt')],
      ['offline_ttl', '600'],
    ]);
    expect(res.status).to.equal(200);
    const { uuid } = ((await res.json()) as { data: { uuid: string } }).data;
    // Queued (by node-2, for c1's return) before the database goes.
    await eventually(async () => {
      const q = await db!.query(`SELECT 1 FROM delivery_queue WHERE uuid = $1`, [uuid]);
      expect(q.rowCount).to.equal(1);
    }, 30_000);
    const marks = [two, three].map((n) => n.proc!.output().length);

    server!.pause();
    for (const n of [two, three]) {
      await eventually(async () => void expect(await health(n), n.name).to.equal(503), 60_000);
      await n.proc!.waitFor(/PostgreSQL unreachable/, 60_000, marks[c.nodes.indexOf(n) - 1]);
      const refused = await c.upload(n, { name: 'upload', filename: 'x.txt', content }, [
        ['client_id', 'a1'],
        ['dest', c.dest('fo3/x.txt')],
      ]);
      expect(refused.status, n.name).to.equal(503);
      expect(await c.staged(n), `${n.name} staged nothing`).to.deep.equal(
        n === two ? [`${uuid}_rport_filepush`] : [],
      );
    }
    // Longer than the heartbeat bound: every heartbeat in the database is old when it comes back.
    await new Promise((r) => setTimeout(r, 12_000));
    // node-2 is frozen while PostgreSQL comes back, so node-3 beats first and sees node-2's old
    // heartbeat: it must wait to judge it until it has beaten steadily for the bound.
    process.kill(two.proc!.pid, 'SIGSTOP');
    server!.resume();
    await eventually(async () => void expect(await health(three)).to.equal(200), 60_000);
    await new Promise((r) => setTimeout(r, 6_000));
    process.kill(two.proc!.pid, 'SIGCONT');
    for (const n of [two, three]) {
      await eventually(async () => void expect(await health(n), n.name).to.equal(200), 60_000);
      await n.proc!.waitFor(/PostgreSQL answers again/, 60_000, marks[c.nodes.indexOf(n) - 1]);
    }
    // Long enough for both nodes to judge heartbeats again: neither may take the other's live target.
    await new Promise((r) => setTimeout(r, 15_000));
    const owner = await db!.query<{ node_id: string; status: string }>(
      `SELECT node_id, status FROM upload_results WHERE uuid = $1`,
      [uuid],
    );
    expect(owner.rows).to.deep.equal([{ node_id: 'node-2', status: 'pending' }]);
    for (const n of [two, three])
      expect(n.proc!.output().slice(marks[c.nodes.indexOf(n) - 1])).not.to.contain('took over');

    // c1 comes back (to node-3): its target is pushed there, and the nodes went on without a restart.
    await c.startAgent('c1', [at(three), at(two)]);
    await eventually(
      async () => void expect((await rows(uuid)).map((r) => r.status)).to.deep.equal(['success']),
      60_000,
    );
    expect(await readFile(c.onHost('c1', 'fo3/later.txt'), 'utf8')).to.equal(content.toString());
    expect([two, three].every((n) => n.proc!.running)).to.equal(true);
  });
});
