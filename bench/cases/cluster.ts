import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type pg from 'pg';
import type { BenchCase, BenchContext } from '../lib/bench-case.ts';
import { clusterBinaries, ClusterRig } from '../lib/cluster-rig.ts';
import { megabytes, seconds, type Figure } from '../lib/figures.ts';
import { watchClusterCpu } from '../lib/cluster-cpu.ts';
import { MiB, PeakWatch, rssOf } from '../lib/proc-memory.ts';
import { writeRandomFile } from '../lib/test-file.ts';
import { upload } from '../lib/upload-client.ts';
import { byNode, waitForPlacement } from '../../src/composition/demo/cluster-placement.ts';
import { readOutcomes } from '../../src/composition/demo/cluster-pushes.ts';

const NODES = 3;
/** Several fleet processes, so that no one process's main thread holds all the agents. */
const FULL = { fleets: 6, perFleet: 500 };
const QUICK = { fleets: 3, perFleet: 50 };
const SETTLE_MS = 3000;
const settle = (): Promise<void> => new Promise((r) => setTimeout(r, SETTLE_MS));

/** A log for waitForPlacement: at most one line every few seconds, and the last. */
function throttled(ctx: BenchContext, what: string): (line: string) => void {
  let last = 0;
  return (line) => {
    if (Date.now() - last < 3000) return;
    last = Date.now();
    ctx.log(`${what}: ${line}`);
  };
}

const spreadText = (spread: Map<string, string[]>): string =>
  [...spread].map(([n, a]) => `${n} ${a.length}`).join(', ');

const cluster: BenchCase = {
  name: 'cluster',
  summary: `${NODES} rportd nodes behind HAProxy on PostgreSQL and NATS, ${FULL.fleets * FULL.perFleet} agents: 1 MiB to all, RSS per node, agents moving after a node is killed`,
  timeoutMs: 1_500_000,
  async run(ctx) {
    const size = ctx.quick ? QUICK : FULL;
    const total = size.fleets * size.perFleet;
    const bins = await clusterBinaries();
    if (typeof bins === 'string') {
      ctx.log(`skipped: the cluster bench ${bins}`);
      ctx.add({ figure: 'cluster: skipped', note: `the cluster bench ${bins}` });
      return;
    }
    const rig = new ClusterRig(ctx, join(ctx.tmp, 'cluster'));
    try {
      await measure(ctx, rig, bins, size.fleets, size.perFleet, total);
    } finally {
      const stopped = await rig.stop();
      ctx.log(`stopped ${stopped.length} processes of the cluster by pid (and the agents' fleets)`);
    }
  },
};

async function measure(
  ctx: BenchContext,
  rig: ClusterRig,
  bins: Exclude<Awaited<ReturnType<typeof clusterBinaries>>, string>,
  fleets: number,
  perFleet: number,
  total: number,
): Promise<void> {
  await rig.start(bins, NODES);
  const db = rig.db!;
  const nodes = rig.cluster.nodes;
  const pidOf = (name: string): number => nodes.find((n) => n.name === name)!.program.child.pid!;

  ctx.log(`starting ${total} agents in ${fleets} processes, all at once, through HAProxy`);
  const t0 = performance.now();
  const started = await Promise.all(
    Array.from({ length: fleets }, (_, i) => rig.startFleet(`fleet${i + 1}`, perFleet, 600_000)),
  );
  const startMs = performance.now() - t0;
  const notIn = started.reduce((t, s) => t + s.failed, 0);
  if (notIn > 0)
    throw new Error(
      `${notIn} of ${total} agents did not connect: ${started.find((s) => s.lastError)?.lastError}`,
    );
  const ids = started.flatMap((s) => s.ids);
  let placement = await waitForPlacement(db, ids, () => true, 120_000, undefined, throttled(ctx, 'placed'));
  if (placement.size !== total)
    throw new Error(`${placement.size} of ${total} agents are in the clients table`);
  const spread = byNode(placement);
  const retries = started.reduce((t, s) => t + s.retries, 0);
  const why = started.find((s) => s.lastError)?.lastError;
  ctx.log(
    `${total} agents connected in ${seconds(startMs)} after ${retries} retried attempts${why ? ` (the last logged: ${why})` : ''}, spread ${spreadText(spread)}`,
  );
  ctx.add({
    figure: `cluster: ${total} agents connecting at once through HAProxy, time until all registered`,
    ours: seconds(startMs),
    target: 'report',
    note: `${fleets} agent processes of ${perFleet}; ${retries} attempts failed and were retried after the agents' backoff${why ? `, the last one logged: ${why.slice(0, 200)}` : ''}; spread over the nodes by HAProxy (leastconn): ${spreadText(spread)}`,
  });

  await settle();
  const idle = new Map(nodes.map((n) => [n.name, rssOf(pidOf(n.name))]));

  await rig.createGroup('all-fleets', ['fleet*']);
  const file = join(ctx.tmp, 'cluster.bin');
  await writeRandomFile(file, MiB);
  await mkdir(join(ctx.tmp, 'dest'), { recursive: true });
  const watch = new PeakWatch(nodes.map((n) => pidOf(n.name)));
  const stopCpu = watchClusterCpu({
    nodes: nodes.map((n) => ({ name: n.name, pid: pidOf(n.name) })),
    fleets: rig.fleets.map((f) => f.pid),
    postgres: rig.cluster.pg.pid,
    nats: rig.cluster.nats.pid,
    haproxy: rig.cluster.haproxy.pid,
  });
  const startedAt = Date.now();
  const p0 = performance.now();
  const r = await upload(ctx.children, {
    url: `${rig.cluster.apiUrl}/api/v1/files`,
    file,
    headers: rig.authHeaders,
    fields: [
      ['group_id', 'all-fleets'],
      ['dest', join(ctx.tmp, 'dest', 'cluster.bin')],
      ['force', 'true'],
    ],
  });
  if (r.status !== 200 && r.status !== 201)
    throw new Error(`upload: HTTP ${r.status}: ${r.body.slice(0, 300)}`);
  const uuid = (JSON.parse(r.body) as { data: { uuid: string } }).data.uuid;
  const outcomes = await readOutcomes(db, uuid, total, 900_000);
  const pushMs = performance.now() - p0;
  const peaks = watch.stop();
  const cpu = stopCpu().text;
  const when = await timeline(db, uuid, startedAt);
  const ok = outcomes.filter((o) => o.status === 'success');
  const final = outcomes.filter((o) => o.status !== 'pending');
  const failed = final.filter((o) => o.status !== 'success');
  ctx.log(
    `1 MiB to ${total}: accepted after ${seconds(r.ms)}, every outcome final after ${seconds(pushMs)}: ${ok.length} success, ${failed.length} other${failed[0] ? ` (${failed[0].message})` : ''}, ${total - final.length} not final; ${when}; CPU ${cpu}`,
  );
  ctx.add({
    figure: `cluster: 1 MiB to ${total} agents through HAProxy, time until every outcome is final`,
    ours: final.length === total ? seconds(pushMs) : `not all final after ${seconds(pushMs)}`,
    target: 'report',
    note: `from the upload (curl, to HAProxy's API address, a client group of all ${total}) to the moment every target's row in upload_results (PostgreSQL, polled every 250 ms) is final; ${when}; CPU during it: ${cpu}`,
  });
  ctx.add({
    figure: `cluster: 1 MiB to ${total} agents, targets that succeeded`,
    ours: `${ok.length} of ${total}`,
    target: 'report',
    note: failed[0]
      ? `first other outcome: ${failed[0].clientId} ${failed[0].status}: ${failed[0].message}`
      : undefined,
  });
  for (const n of nodes) {
    const count = spread.get(n.name)?.length ?? 0;
    const rows: Figure[] = [
      {
        figure: `cluster: ${n.name} RSS idle with its ${count} agents`,
        ours: megabytes(idle.get(n.name)),
        target: 'report',
      },
      {
        figure: `cluster: ${n.name} peak RSS during the push`,
        ours: megabytes(peaks.get(pidOf(n.name))),
        target: 'report',
      },
    ];
    for (const f of rows) ctx.add(f);
  }

  await settle();
  const victim = [...spread].sort((a, b) => b[1].length - a[1].length)[0][0];
  const moving = spread.get(victim)!;
  ctx.log(`killing ${victim} (pid ${pidOf(victim)}, ${moving.length} agents) with SIGKILL`);
  const k0 = performance.now();
  await nodes.find((n) => n.name === victim)!.program.kill9();
  placement = await waitForPlacement(
    db,
    ids,
    (_id, at) => at !== victim,
    600_000,
    undefined,
    throttled(ctx, `after the kill of ${victim}`),
  );
  const moveMs = performance.now() - k0;
  const after = byNode(placement);
  ctx.log(
    `${placement.size} of ${total} connected to the other nodes ${seconds(moveMs)} after the kill: ${spreadText(after)}`,
  );
  ctx.add({
    figure: `cluster: ${moving.length} agents of a node killed with SIGKILL, time until all ${total} are connected again`,
    ours:
      placement.size === total ? seconds(moveMs) : `${placement.size} of ${total} after ${seconds(moveMs)}`,
    target: 'report',
    note: `from the SIGKILL of ${victim} until every agent's row in clients (PostgreSQL, polled every 250 ms) is connected with a node_id other than the killed one; afterwards ${spreadText(after)}. The agents' first retry waits their backoff (1 s, with jitter); HAProxy marks the node DOWN after two failed 1 s checks and redispatches`,
  });
}

/** Which node accepted the upload, and when each node's outcomes came, from upload_results. */
async function timeline(db: pg.Pool, uuid: string, startedAt: number): Promise<string> {
  const { rows } = await db.query<{ pushed_by: string | null; n: string; first: string; last: string }>(
    `SELECT pushed_by, count(*) AS n, extract(epoch FROM min(updated_at)) * 1000 AS first,
            extract(epoch FROM max(updated_at)) * 1000 AS last
       FROM upload_results WHERE uuid = $1 AND status <> 'pending'
      GROUP BY pushed_by ORDER BY pushed_by`,
    [uuid],
  );
  const accepted = await db.query<{ node_id: string }>(
    'SELECT DISTINCT node_id FROM upload_results WHERE uuid = $1',
    [uuid],
  );
  const at = (ms: string): string => seconds(Number(ms) - startedAt)!;
  return `accepted by ${accepted.rows.map((r) => r.node_id).join(', ')}; outcomes by the node that pushed them: ${rows
    .map((r) => `${r.pushed_by ?? '?'} ${r.n} from ${at(r.first)} to ${at(r.last)}`)
    .join(', ')}`;
}

export default cluster;
