/**
 * What `npm run demo -- --cluster N` starts, in order: PostgreSQL, nats-server, N rportd nodes
 * sharing the host key and the JWT secret (docs/scale-out.md "What the nodes must share"), HAProxy
 * in front of their SSH and API ports with the PROXY protocol, and 3N agents whose one server is
 * HAProxy. Everything is recorded as it starts, so that whatever failed, all of it is stopped.
 */
import { randomBytes } from 'node:crypto';
import { copyFile, mkdir, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { HaproxyProcess } from './haproxy.ts';
import { PrivateNats } from './private-nats.ts';
import { PrivatePostgres } from './private-postgres.ts';
import { freePort, Program } from './processes.ts';

const secret = (): string => randomBytes(18).toString('base64url');
const FINGERPRINT = /host key fingerprint (SHA256:[A-Za-z0-9+/]+)/;

export interface DemoBinaries {
  postgres: string;
  nats: string;
  haproxy: string;
}

export interface ClusterNode {
  name: string;
  ssh: number;
  api: number;
  program: Program;
  fingerprint: string;
}

export interface DemoAgent {
  id: string;
  /** The agent's working directory: `{dir}/host` leads each agent here (see dest). */
  home: string;
  program: Program;
}

/** Things running, newest last, each with its label and how to stop it. */
export class Running {
  readonly items: { label: string; stop: () => Promise<void> | void }[] = [];

  add(label: string, stop: () => Promise<void> | void): void {
    this.items.push({ label, stop });
  }

  /** Renames the entry whose label starts with prefix (a node the demo killed itself). */
  relabel(prefix: string, label: string): void {
    const item = this.items.find((i) => i.label.startsWith(prefix));
    if (item) item.label = label;
  }

  /** Stops everything, newest first (agents before nodes before the services); returns the labels. */
  async stopAll(): Promise<string[]> {
    const labels = this.items.map((i) => i.label);
    for (const item of [...this.items].reverse()) await item.stop();
    this.items.length = 0;
    return labels;
  }
}

export class DemoCluster {
  readonly admin = { username: 'admin', password: secret() };
  readonly agentAuth = `demo-agents:${secret()}`;
  readonly jwtSecret = secret() + secret();
  readonly nodes: ClusterNode[] = [];
  readonly agents: DemoAgent[] = [];
  pg!: PrivatePostgres;
  nats!: PrivateNats;
  haproxy!: HaproxyProcess;
  frontSsh = 0;
  frontApi = 0;

  constructor(
    readonly dir: string,
    private readonly running: Running,
    private readonly say: (text: string) => void,
  ) {}

  get apiUrl(): string {
    return `http://127.0.0.1:${this.frontApi}`;
  }

  /** One destination path that leads every agent to a file in its own home (as on N machines). */
  dest(name: string): string {
    return join(this.dir, 'host', name);
  }

  async startServices(bin: DemoBinaries): Promise<void> {
    this.say('Starting a private PostgreSQL (initdb in a temp folder, 127.0.0.1 only)');
    this.pg = await PrivatePostgres.start(bin.postgres, await freePort());
    this.running.add(`PostgreSQL (pid ${this.pg.pid})`, () => this.pg.stop());
    console.log(`PostgreSQL ${this.pg.url().replace(/:[^:@/]+@/, ':***@')}, pid ${this.pg.pid}`);

    this.say('Starting nats-server with JetStream');
    this.nats = await PrivateNats.start(bin.nats, await freePort(), join(this.dir, 'nats'));
    this.running.add(`nats-server (pid ${this.nats.pid})`, () => this.nats.stop());
    console.log(`NATS ${this.nats.url}, pid ${this.nats.pid}`);
  }

  /** Starts node-1, copies its host key to the others, then starts them; all must print one fingerprint. */
  async startNodes(count: number): Promise<void> {
    this.say(`Starting ${count} rportd nodes on one PostgreSQL, one host key, one JWT secret`);
    await this.startNode('node-1');
    const others = Array.from({ length: count - 1 }, (_, i) => `node-${i + 2}`);
    for (const name of others) {
      await mkdir(join(this.dir, name), { recursive: true });
      await copyFile(join(this.dir, 'node-1', 'rportd_host_key'), join(this.dir, name, 'rportd_host_key'));
    }
    await Promise.all(others.map((name) => this.startNode(name)));
    this.nodes.sort((a, b) => a.name.localeCompare(b.name, 'en', { numeric: true }));
    for (const n of this.nodes)
      console.log(`${n.name}: SSH 127.0.0.1:${n.ssh}, API 127.0.0.1:${n.api}, host key ${n.fingerprint}`);
  }

  async startHaproxy(bin: string): Promise<void> {
    this.say('Starting HAProxy (TCP mode, send-proxy-v2) in front of every node');
    [this.frontSsh, this.frontApi] = [await freePort(), await freePort()];
    const servers = (port: (n: ClusterNode) => number) =>
      this.nodes.map((n) => ({ name: n.name, port: port(n) }));
    this.haproxy = await HaproxyProcess.start(bin, this.dir, [
      {
        name: 'rport_ssh',
        port: this.frontSsh,
        servers: servers((n) => n.ssh),
        sendProxy: true,
        balance: 'leastconn',
      },
      {
        name: 'rport_api',
        port: this.frontApi,
        servers: servers((n) => n.api),
        sendProxy: true,
        httpCheck: '/health',
        balance: 'roundrobin',
      },
    ]);
    this.running.add(`HAProxy (pid ${this.haproxy.pid})`, () => this.haproxy.stop());
    console.log(
      `HAProxy pid ${this.haproxy.pid}: agents' SSH on 127.0.0.1:${this.frontSsh}, API on ${this.apiUrl}`,
    );
  }

  async startAgents(count: number): Promise<void> {
    this.say(`Starting ${count} agents; their one server is HAProxy, 127.0.0.1:${this.frontSsh}`);
    await symlink('/proc/self/cwd', join(this.dir, 'host'));
    const fingerprint = this.nodes[0].fingerprint;
    for (let i = 1; i <= count; i++) {
      const id = `cluster-client-${i}`;
      const home = join(this.dir, 'hosts', id);
      await mkdir(home, { recursive: true });
      const conf = join(this.dir, `${id}.conf`);
      await writeFile(
        conf,
        `[client]
server = "127.0.0.1:${this.frontSsh}"
fingerprint = "${fingerprint}"
auth = "${this.agentAuth}"
id = "${id}"
name = "Cluster demo client ${i}"
tags = ["demo"]
data_dir = "${join(this.dir, 'agents', id)}"
`,
        { mode: 0o600 },
      );
      const program = new Program(id, 'rport.js', ['--config', conf], undefined, home);
      this.running.add(`${id} (pid ${program.child.pid})`, () => program.stop());
      this.agents.push({ id, home, program });
    }
  }

  private async startNode(name: string): Promise<ClusterNode> {
    const [ssh, api] = [await freePort(), await freePort()];
    const conf = join(this.dir, `${name}.conf`);
    await writeFile(
      conf,
      `[server]
address = "127.0.0.1:${ssh}"
data_dir = "${name}"
auth = "${this.agentAuth}"
# HAProxy, on this host, sends each connection's real source in a PROXY v2 header.
proxy_protocol_from = ["127.0.0.1"]
keep_staged_for = 0

[api]
address = "127.0.0.1:${api}"
auth = "${this.admin.username}:${this.admin.password}"
jwt_secret = "${this.jwtSecret}"
proxy_protocol_from = ["127.0.0.1"]

[cluster]
node_id = "${name}"
database_url = "${this.pg.url()}"
nats_url = "${this.nats.url}"
`,
      { mode: 0o600 },
    );
    const program = new Program(name, 'rportd.js', ['--config', conf]);
    this.running.add(`${name} (pid ${program.child.pid})`, () => program.stop());
    const fingerprint = (await program.waitFor(FINGERPRINT, 60_000))[1];
    await program.waitFor(/API listening/, 60_000);
    const node = { name, ssh, api, program, fingerprint };
    this.nodes.push(node);
    return node;
  }
}
