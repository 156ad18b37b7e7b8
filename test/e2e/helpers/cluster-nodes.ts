import { randomBytes } from 'node:crypto';
import { copyFile, mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { multipart, type FilePart } from './multipart.ts';
import { BIN, freePort, Proc } from './processes.ts';

const secret = (): string => randomBytes(24).toString('base64url');
const FINGERPRINT = /host key fingerprint (SHA256:[A-Za-z0-9+/]{43})/;

export interface ClusterNode {
  name: string;
  ssh: number;
  api: number;
  proc?: Proc;
}

export interface StoredTarget {
  client_id: string;
  status: string;
  message: string;
}

/**
 * rportd nodes as real processes on one PostgreSQL and one nats-server, all under `dir`, sharing the
 * host key (node-1's, copied before the others start), the JWT secret and the agents' credentials;
 * and agents whose `[client] server` lists addresses to fail over between, in order.
 */
export class ClusterNodes {
  readonly nodes: ClusterNode[] = [];
  readonly agents = new Map<string, Proc>();
  readonly admin = { username: 'admin', password: secret() };
  readonly agentAuth = `agents:${secret()}`;
  private readonly jwtSecret = secret();
  fingerprint = '';

  constructor(
    readonly dir: string,
    private readonly dbUrl: string,
    private readonly natsUrl: string,
    /** More [server] lines, e.g. `push_timeout = 30`. */
    private readonly serverLines: string[] = [],
  ) {}

  node(name: string): ClusterNode {
    const n = this.nodes.find((x) => x.name === name);
    if (!n) throw new Error(`no node ${name}`);
    return n;
  }

  /** Starts (or starts again, with the same data dir and ports) node `name`. */
  async start(name: string): Promise<ClusterNode> {
    let n = this.nodes.find((x) => x.name === name);
    if (!n) {
      n = { name, ssh: await freePort(), api: await freePort() };
      this.nodes.push(n);
    }
    const data = join(this.dir, `${name}-data`);
    await mkdir(data, { recursive: true });
    if (this.fingerprint && name !== this.nodes[0].name)
      await copyFile(
        join(this.dir, `${this.nodes[0].name}-data`, 'rportd_host_key'),
        join(data, 'rportd_host_key'),
      );
    const conf = join(this.dir, `${name}.conf`);
    await writeFile(
      conf,
      `[server]
address = "127.0.0.1:${n.ssh}"
data_dir = "${data}"
auth = "${this.agentAuth}"
keep_staged_for = 0
${this.serverLines.join('\n')}

[api]
address = "127.0.0.1:${n.api}"
auth = "${this.admin.username}:${this.admin.password}"
jwt_secret = "${this.jwtSecret}"

[cluster]
node_id = "${name}"
database_url = "${this.dbUrl}"
nats_url = "${this.natsUrl}"
`,
      { mode: 0o600 },
    );
    n.proc = new Proc(name, BIN.rportd, ['--config', conf], { cwd: this.dir });
    const [, fingerprint] = await n.proc.waitFor(FINGERPRINT, 30_000);
    if (this.fingerprint && fingerprint !== this.fingerprint)
      throw new Error(`${name} has host key ${fingerprint}, not the cluster's ${this.fingerprint}`);
    this.fingerprint = fingerprint;
    await n.proc.waitFor(/rportd API listening on/, 30_000);
    return n;
  }

  /** An agent dialing `servers` (host:port) in order; resolves once it is connected. */
  async startAgent(id: string, servers: string[]): Promise<Proc> {
    const host = join(this.dir, 'hosts', id);
    await mkdir(host, { recursive: true });
    const conf = join(this.dir, `${id}.conf`);
    await writeFile(
      conf,
      `[client]
server = ${JSON.stringify(servers)}
fingerprint = "${this.fingerprint}"
auth = "${this.agentAuth}"
id = "${id}"
data_dir = "${join(this.dir, 'agent-data', id)}"
`,
      { mode: 0o600 },
    );
    const agent = new Proc(id, BIN.rport, ['--config', conf], { cwd: host });
    this.agents.set(id, agent);
    await agent.waitFor(/connected/, 30_000);
    return agent;
  }

  /** Where the destination `host/<rel>` of an upload lands for agent id. */
  onHost(id: string, rel: string): string {
    return join(this.dir, 'hosts', id, rel);
  }

  /** The one destination path that leads every agent into its own host folder (needs {dir}/host). */
  dest(rel: string): string {
    return join(this.dir, 'host', rel);
  }

  async token(n: ClusterNode): Promise<string> {
    const login = await fetch(`http://127.0.0.1:${n.api}/api/v1/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(this.admin),
    });
    return ((await login.json()) as { data: { token: string } }).data.token;
  }

  async call(n: ClusterNode, method: string, path: string, init: RequestInit = {}): Promise<Response> {
    return fetch(`http://127.0.0.1:${n.api}${path}`, {
      ...init,
      method,
      headers: {
        ...(init.headers as Record<string, string>),
        authorization: `Bearer ${await this.token(n)}`,
      },
    });
  }

  async upload(n: ClusterNode, file: FilePart, fields: [string, string][]): Promise<Response> {
    const { body, contentType } = multipart([file, ...fields]);
    return this.call(n, 'POST', '/api/v1/files', {
      headers: { 'content-type': contentType },
      body: new Uint8Array(body),
    });
  }

  async targets(n: ClusterNode, uuid: string): Promise<StoredTarget[]> {
    const res = await this.call(n, 'GET', `/api/v1/files/${uuid}`);
    if (res.status !== 200) throw new Error(`GET /api/v1/files/${uuid} on ${n.name}: ${res.status}`);
    const body = (await res.json()) as { data: { targets: StoredTarget[] } };
    return body.data.targets.sort((a, b) => a.client_id.localeCompare(b.client_id));
  }

  /** The node id holding each client's connection, as the API of node n shows it. */
  async clientNodes(n: ClusterNode): Promise<Map<string, boolean>> {
    const res = await this.call(n, 'GET', '/api/v1/clients');
    const clients = ((await res.json()) as { data: { id: string; connected: boolean }[] }).data;
    return new Map(clients.map((c) => [c.id, c.connected]));
  }

  /** Files in node n's staging folder. */
  async staged(n: ClusterNode): Promise<string[]> {
    return (await readdir(join(this.dir, `${n.name}-data`, 'filepush')).catch(() => [])).sort();
  }

  /** How many messages the shared bucket's stream holds (0: no staged object left). */
  async bucketMessages(): Promise<number> {
    const nc = await connect({ servers: this.natsUrl });
    try {
      const info = await (await jetstreamManager(nc)).streams.info('OBJ_rport-staged');
      return info.state.messages;
    } finally {
      await nc.close();
    }
  }

  /** Stops every agent, then every node still running, by pid. */
  async stop(): Promise<void> {
    await Promise.all([...this.agents.values()].map((a) => a.stop()));
    for (const n of this.nodes) await n.proc?.stop();
  }
}
