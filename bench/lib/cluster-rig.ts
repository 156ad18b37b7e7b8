/**
 * The cluster bench's rig: the cluster demo's own pieces (src/composition/demo: a private
 * PostgreSQL, nats-server with JetStream, three rportd nodes from dist/ sharing the host key and JWT
 * secret, HAProxy in front of them) and processes of real agents (bench/roles/agent-fleet.ts) whose
 * one server is HAProxy. Everything started is recorded, so that it is all stopped by pid whatever
 * failed.
 */
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import pg from 'pg';
import type { BenchContext } from './bench-case.ts';
import type { Role } from './children.ts';
import { profileArgs } from './product.ts';
import { DemoCluster, Running } from '../../src/composition/demo/cluster-setup.ts';
import { findHaproxy } from '../../src/composition/demo/haproxy.ts';
import { findSystemBinary } from '../../src/composition/demo/private-nats.ts';
import { postgresBin } from '../../src/composition/demo/private-postgres.ts';

export interface ClusterBinaries {
  postgres: string;
  nats: string;
  haproxy: string;
}

/** Debian's binaries the rig needs, or a sentence naming the missing ones. */
export async function clusterBinaries(): Promise<ClusterBinaries | string> {
  const bins = {
    postgres: postgresBin(),
    nats: await findSystemBinary('nats-server'),
    haproxy: await findHaproxy(),
  };
  const missing = Object.entries(bins).filter(([, path]) => path === undefined);
  return missing.length > 0
    ? `needs Debian's ${missing.map(([name]) => name).join(', ')} (apt-get install -y postgresql nats-server haproxy)`
    : (bins as ClusterBinaries);
}

export interface FleetStartResult {
  ids: string[];
  ms: number;
  retries: number;
  failed: number;
  lastError?: string;
}

export class ClusterRig {
  readonly running = new Running();
  readonly cluster: DemoCluster;
  readonly fleets: Role[] = [];
  db?: pg.Pool;

  constructor(
    private readonly ctx: BenchContext,
    readonly dir: string,
  ) {
    this.cluster = new DemoCluster(dir, this.running, (text) => ctx.log(text));
  }

  /** PostgreSQL, NATS, the nodes and HAProxy; a pool on the shared database. */
  async start(bins: ClusterBinaries, nodes: number): Promise<void> {
    await mkdir(this.dir, { recursive: true });
    await this.cluster.startServices(bins);
    // pg_ctl puts PostgreSQL in a session of its own: the runner must know it to kill it on a timeout.
    process.send?.({ type: 'pid', pid: this.cluster.pg.pid });
    this.db = new pg.Pool({ connectionString: this.cluster.pg.url(), max: 2 });
    await this.cluster.startNodes(nodes);
    await this.cluster.startHaproxy(bins.haproxy);
  }

  get authHeaders(): Record<string, string> {
    const { username, password } = this.cluster.admin;
    return { authorization: `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}` };
  }

  /** One process of count real agents, ids `{prefix}-0000`…, their one server HAProxy's SSH port. */
  async startFleet(prefix: string, count: number, timeoutMs: number): Promise<FleetStartResult> {
    const role = this.ctx.children.fork(
      `${prefix} agents`,
      new URL('../roles/agent-fleet.ts', import.meta.url),
      [],
      { nodeArgs: profileArgs(this.ctx, prefix) },
    );
    this.fleets.push(role);
    role.on('progress', (m) =>
      this.ctx.log(
        `${prefix}: ${String(m.connected)}/${String(m.count)} connected, ${String(m.retries)} retried`,
      ),
    );
    await role.ready;
    return role.call<FleetStartResult>('start', {
      server: `127.0.0.1:${this.cluster.frontSsh}`,
      fingerprint: this.cluster.nodes[0].fingerprint,
      credential: this.cluster.agentAuth,
      count,
      prefix,
      dataRoot: join(this.dir, 'agents', prefix),
      timeoutMs,
    });
  }

  /** A client group through HAProxy's API address. */
  async createGroup(id: string, patterns: string[]): Promise<void> {
    const res = await fetch(`${this.cluster.apiUrl}/api/v1/client-groups`, {
      method: 'POST',
      headers: { ...this.authHeaders, 'content-type': 'application/json' },
      body: JSON.stringify({ id, description: 'cluster bench', params: { client_id: patterns } }),
    });
    if (!res.ok)
      throw new Error(`creating client group ${id}: HTTP ${res.status}: ${(await res.text()).slice(0, 300)}`);
  }

  /** Agents first, then the nodes, HAProxy, NATS and PostgreSQL; removes the folder. */
  async stop(): Promise<string[]> {
    await Promise.all(
      this.fleets.splice(0).map(async (role) => {
        await role.call('stop').catch(() => undefined);
        await this.ctx.children.kill(role);
      }),
    );
    await this.db?.end().catch(() => undefined);
    const stopped = await this.running.stopAll();
    await rm(this.dir, { recursive: true, force: true });
    return stopped;
  }
}
