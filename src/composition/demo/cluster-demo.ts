/**
 * `npm run demo -- --cluster N` (N from 2 to 9, usually 3): PostgreSQL, nats-server, N rportd
 * nodes and HAProxy from Debian's binaries, 3N agents whose one server is HAProxy. It pushes a
 * file through HAProxy's single address, kills a node with SIGKILL, shows its agents reconnecting
 * to the others, pushes again, and prints every outcome with the node that pushed it. Each claim is
 * printed as a `check ok:` or `check FAILED:` line; `--once` exits 0 only when all held, and
 * either way everything started is stopped by pid and the temp folder removed.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { DemoCluster, Running, type ClusterNode } from './cluster-setup.ts';
import { byNode, waitForPlacement } from './cluster-placement.ts';
import { placedOn, pushThrough, readOutcomes, showOutcomes, type Outcome } from './cluster-pushes.ts';
import { findHaproxy } from './haproxy.ts';
import { findSystemBinary } from './private-nats.ts';
import { postgresBin } from './private-postgres.ts';

const argv = process.argv;
const nodeCount = Number(argv[argv.indexOf('--cluster') + 1]);
if (!Number.isInteger(nodeCount) || nodeCount < 2 || nodeCount > 9) {
  console.error('demo: --cluster needs a node count from 2 to 9, e.g. npm run demo -- --cluster 3');
  process.exit(2);
}
const once = argv.includes('--once');
const AGENTS = 3 * nodeCount;
const say = (text: string): void => void process.stdout.write(`\n\x1b[1m== ${text}\x1b[0m\n`);
const seconds = (ms: number): string => (ms / 1000).toFixed(1);

const bins = {
  postgres: postgresBin(),
  nats: await findSystemBinary('nats-server'),
  haproxy: await findHaproxy(),
};
const missing = Object.entries(bins).filter(([, path]) => path === undefined);
if (missing.length > 0) {
  console.error(
    `demo --cluster needs Debian's ${missing.map(([name]) => name).join(', ')}: apt-get install -y postgresql nats-server haproxy`,
  );
  process.exit(1);
}

const dir = await mkdtemp(join(tmpdir(), 'rport-cluster-demo-'));
const running = new Running();
const checks: { ok: boolean; text: string }[] = [];
let db: pg.Pool | undefined;
let stopping = false;

function check(ok: boolean, text: string): boolean {
  checks.push({ ok, text });
  console.log(`${ok ? 'check ok' : 'check FAILED'}: ${text}`);
  return ok;
}

async function stopAll(code: number, why: string): Promise<never> {
  if (!stopping) {
    stopping = true;
    await db?.end().catch(() => undefined);
    const stopped = await running.stopAll();
    await rm(dir, { recursive: true, force: true });
    console.log(`\n${why}: stopped ${stopped.join(', ') || 'nothing was running'}; removed ${dir}.`);
  }
  process.exit(code);
}
process.on('SIGINT', () => void stopAll(0, 'Ctrl-C'));
process.on('SIGTERM', () => void stopAll(0, 'SIGTERM'));

try {
  const cluster = new DemoCluster(dir, running, say);
  await cluster.startServices(bins as { postgres: string; nats: string; haproxy: string });
  db = new pg.Pool({ connectionString: cluster.pg.url(), max: 2 });
  await cluster.startNodes(nodeCount);
  const prints = new Set(cluster.nodes.map((n) => n.fingerprint));
  check(prints.size === 1, `the ${nodeCount} nodes present one host key, ${[...prints].join(' and ')}`);
  await cluster.startHaproxy(bins.haproxy!);
  await cluster.startAgents(AGENTS);
  const ids = cluster.agents.map((a) => a.id);

  let placement = await waitForPlacement(db, ids, () => true, 60_000);
  const spread = byNode(placement);
  check(
    placement.size === AGENTS && spread.size > 1,
    `${placement.size} of ${AGENTS} agents connected through HAProxy, spread over ${[...spread].map(([n, a]) => `${n} (${a.length})`).join(', ')}`,
  );

  const login = await fetch(`${cluster.apiUrl}/api/v1/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(cluster.admin),
  });
  if (!login.ok) throw new Error(`login through HAProxy failed: ${login.status} ${await login.text()}`);
  const token = ((await login.json()) as { data: { token: string } }).data.token;

  const pushAndShow = async (n: number): Promise<Outcome[]> => {
    const name = `hello-${n}.txt`;
    const content = Buffer.from(
      `push ${n} from the rport-ts cluster demo, ${randomBytes(8).toString('hex')}\n`,
    );
    say(`Push ${n}: ${name} to all ${AGENTS} agents through HAProxy (${cluster.apiUrl})`);
    const uuid = await pushThrough(cluster.apiUrl, token, ids, cluster.dest(name), content);
    const outcomes = await readOutcomes(db!, uuid, ids.length, 120_000);
    showOutcomes(uuid, outcomes);
    // Each target is pushed by the node that holds its client's connection, whichever node accepted it.
    const routed = outcomes.filter((o) => o.pushedBy !== null && o.pushedBy === o.clientNode);
    const perNode = [...new Set(routed.map((o) => o.pushedBy!))]
      .sort()
      .map((node) => `${node}: ${routed.filter((o) => o.pushedBy === node).length}`)
      .join(', ');
    check(
      routed.length === outcomes.length,
      `push ${n}: each target was pushed by the node holding its client (${perNode})`,
    );
    const ok = outcomes.filter((o) => o.status === 'success');
    check(ok.length === AGENTS, `push ${n}: ${ok.length} of ${AGENTS} targets succeeded`);
    const placed = await placedOn(cluster.agents, ok, name, content);
    check(
      placed === ok.length,
      `push ${n}: the file's bytes are in the home of each of the ${placed} agents that succeeded`,
    );
    return outcomes;
  };

  await pushAndShow(1);

  const victim = [...byNode(placement)].sort((a, b) => b[1].length - a[1].length)[0][0];
  const moving = byNode(placement).get(victim) ?? [];
  const node = cluster.nodes.find((n) => n.name === victim)!;
  say(`Killing ${victim} (pid ${node.program.child.pid}) with SIGKILL; it holds ${moving.join(', ')}`);
  const killedAt = Date.now();
  await node.program.kill9();
  running.relabel(`${victim} `, `${victim} (pid ${node.program.child.pid}, killed with SIGKILL above)`);
  const survivors = cluster.nodes.filter((n) => n !== node).map((n: ClusterNode) => n.name);
  placement = await waitForPlacement(
    db,
    ids,
    (id, at) => at !== victim,
    60_000,
    (id, at) => {
      if (moving.includes(id))
        console.log(`${id}: ${victim} → ${at} after ${seconds(Date.now() - killedAt)} s`);
    },
  );
  const moved = moving.filter((id) => survivors.includes(placement.get(id) ?? ''));
  check(
    moved.length === moving.length && placement.size === AGENTS,
    `the ${moved.length} agents of ${victim} reconnected through HAProxy to ${survivors.join(', ')} within ${seconds(Date.now() - killedAt)} s`,
  );
  const down = await waitFor(
    async () => (await cluster.haproxy.serverStates('rport_ssh_nodes'))[victim] === 'DOWN',
    30_000,
  );
  check(down, `HAProxy marked ${victim} DOWN (${seconds(Date.now() - killedAt)} s after the kill)`);

  await pushAndShow(2);

  const failed = checks.filter((c) => !c.ok);
  say(failed.length === 0 ? 'Every check held' : `${failed.length} of ${checks.length} checks failed`);
  for (const c of failed) console.log(`  failed: ${c.text}`);
  if (once)
    await stopAll(
      failed.length === 0 ? 0 : 1,
      `--once: ${checks.length - failed.length} of ${checks.length} checks held`,
    );

  say('Try it yourself: the cluster keeps running');
  console.log(`  API through HAProxy: ${cluster.apiUrl} (user ${cluster.admin.username}, password ${cluster.admin.password})
  export RPORT_API_URL=${cluster.apiUrl} RPORT_API_USER=${cluster.admin.username} RPORT_API_PASSWORD=${cluster.admin.password}
  HAProxy's stats: echo "show stat" | socat - ${join(dir, 'haproxy.sock')}

Everything runs from ${dir}. Press Ctrl-C to stop the cluster and remove it.`);
  await new Promise(() => undefined); // until Ctrl-C
} catch (e) {
  console.error(`\ndemo failed: ${e instanceof Error ? e.message : String(e)}`);
  await stopAll(1, 'demo failed');
}

async function waitFor(test: () => Promise<boolean>, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await test()) return true;
    await new Promise((r) => setTimeout(r, 250));
  }
  return false;
}
