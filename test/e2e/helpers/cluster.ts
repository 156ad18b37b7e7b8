import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { multipart, type FilePart } from './multipart.ts';
import { OutcomeListener } from './outcome-listener.ts';
import { BIN, freePort, Proc, requireBuilt } from './processes.ts';

export interface AgentSpec {
  id: string;
  tags?: string[];
  /** Lines for the agent's [file-reception] section. */
  fileReception?: string[];
}

export interface ClusterOptions {
  agents: AgentSpec[];
  /** [server] max_filepush_size; the server's default otherwise. */
  maxFilepushSize?: number;
  /** [server] enable_ws_test_endpoints. */
  testEndpoints?: boolean;
  /** API users in rportd's database (no [api] auth): admin's password is the one rportd prints at first start. */
  databaseUsers?: boolean;
  /**
   * More `[server]` lines, e.g. `offline_ttl = 600`. Without a keep_staged_for line the cluster runs
   * `keep_staged_for = 0`: the tests check that a push leaves nothing staged once it ends.
   */
  serverLines?: string[];
}

const secret = (): string => randomBytes(12).toString('base64url');

/**
 * rportd and N rport agents as real processes on 127.0.0.1, each with its own config and data dir
 * under one temp folder. Every agent runs in its own "host" directory, and `{dir}/host` is a
 * symlink to /proc/self/cwd: one destination path `{dir}/host/…` thus leads each agent to its own
 * host directory, as one path on three machines leads to three files.
 */
export class Cluster {
  rportd!: Proc;
  readonly agents = new Map<string, Proc>();
  apiPort = 0;
  sshPort = 0;
  fingerprint = '';
  token = '';
  readonly admin = { username: 'admin', password: secret() };
  /** The agents' `[server] auth` (user:password), for tests that play an agent by hand. */
  readonly agentAuth = `e2e-agents:${secret()}`;
  private adminRead = false;

  private constructor(
    readonly dir: string,
    private readonly opts: ClusterOptions,
  ) {}

  static async start(opts: ClusterOptions): Promise<Cluster> {
    requireBuilt();
    const c = new Cluster(await mkdtemp(join(tmpdir(), 'rport-e2e-')), opts);
    try {
      await symlink('/proc/self/cwd', join(c.dir, 'host'));
      [c.apiPort, c.sshPort] = [await freePort(), await freePort()];
      await c.writeServerConfig();
      await c.startServer();
      for (const a of opts.agents) await c.startAgent(a.id);
      await c.waitConnected(opts.agents.map((a) => a.id));
      c.token = await c.login();
      return c;
    } catch (e) {
      await c.stop();
      throw e;
    }
  }

  get url(): string {
    return `http://127.0.0.1:${this.apiPort}`;
  }

  get serverDataDir(): string {
    return join(this.dir, 'server-data');
  }

  /** The one destination path that leads every agent into its own host directory. */
  dest(rel: string): string {
    return join(this.dir, 'host', rel);
  }

  /** Where `dest(rel)` really is for agent id. */
  onHost(id: string, rel: string): string {
    return join(this.dir, 'hosts', id, rel);
  }

  agentDataDir(id: string): string {
    return join(this.dir, 'agents', id);
  }

  async startServer(): Promise<Proc> {
    this.rportd = new Proc('rportd', BIN.rportd, ['--config', join(this.dir, 'rportd.conf')]);
    this.fingerprint = (
      await this.rportd.waitFor(/host key fingerprint (SHA256:[A-Za-z0-9+/]{43})/, 30_000)
    )[1];
    await this.rportd.waitFor(/rportd API listening on/, 30_000);
    if (this.opts.databaseUsers && !this.adminRead) {
      this.admin.password = (await this.rportd.waitFor(/with password:\s+(\S+)/, 30_000))[1];
      this.adminRead = true;
    }
    return this.rportd;
  }

  async startAgent(id: string): Promise<Proc> {
    const spec = this.opts.agents.find((a) => a.id === id)!;
    await mkdir(this.onHost(id, ''), { recursive: true });
    const conf = join(this.dir, `${id}.conf`);
    await writeFile(
      conf,
      `[client]
server = "127.0.0.1:${this.sshPort}"
fingerprint = "${this.fingerprint}"
auth = "${this.agentAuth}"
id = "${id}"
name = "e2e ${id}"
tags = ${JSON.stringify(spec.tags ?? [])}
data_dir = "${this.agentDataDir(id)}"
${spec.fileReception ? `[file-reception]\n${spec.fileReception.join('\n')}\n` : ''}`,
      { mode: 0o600 },
    );
    const agent = new Proc(id, BIN.rport, ['--config', conf], { cwd: this.onHost(id, '') });
    this.agents.set(id, agent);
    return agent;
  }

  /** Until GET /api/v1/clients shows every id connected. */
  async waitConnected(ids: string[], ms = 30_000): Promise<void> {
    const deadline = Date.now() + ms;
    let seen: string[] = [];
    while (Date.now() < deadline) {
      const res = await fetch(`${this.url}/api/v1/clients`, { headers: { authorization: this.basic() } });
      const clients = ((await res.json()) as { data: { id: string; connected: boolean }[] }).data;
      seen = clients.filter((c) => c.connected).map((c) => c.id);
      if (ids.every((id) => seen.includes(id))) return;
      await new Promise((r) => setTimeout(r, 200));
    }
    const logs = ids.map((id) => `--- ${id}:\n${this.agents.get(id)?.tail(10)}`).join('\n');
    throw new Error(
      `only ${seen.join(', ') || 'no clients'} of ${ids.join(', ')} connected within ${ms / 1000} s\n${logs}`,
    );
  }

  async login(): Promise<string> {
    const res = await fetch(`${this.url}/api/v1/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(this.admin),
    });
    if (res.status !== 200) throw new Error(`login answered ${res.status}: ${await res.text()}`);
    return ((await res.json()) as { data: { token: string } }).data.token;
  }

  listen(): Promise<OutcomeListener> {
    return OutcomeListener.open(this.url, this.token);
  }

  /** POST /api/v1/files with a hand-built multipart body, as curl -F sends it. */
  async upload(
    file: FilePart,
    fields: [string, string][],
  ): Promise<{ status: number; body: Record<string, unknown> }> {
    const { body, contentType } = multipart([file, ...fields]);
    const res = await fetch(`${this.url}/api/v1/files`, {
      method: 'POST',
      headers: { authorization: `Bearer ${this.token}`, 'content-type': contentType },
      body: new Uint8Array(body),
    });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  }

  /** Any JSON call of the API with the admin's token. */
  async api(
    method: string,
    path: string,
    body?: unknown,
  ): Promise<{ status: number; body: Record<string, unknown> | undefined }> {
    const res = await fetch(`${this.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${this.token}`, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    return {
      status: res.status,
      body: text === '' ? undefined : (JSON.parse(text) as Record<string, unknown>),
    };
  }

  /** Files in {data_dir}/filepush of the server, or of agent id. */
  async filepush(id?: string): Promise<string[]> {
    const dir = join(id === undefined ? this.serverDataDir : this.agentDataDir(id), 'filepush');
    return readdir(dir).catch((e: NodeJS.ErrnoException) => (e.code === 'ENOENT' ? [] : Promise.reject(e)));
  }

  /** Stops every process by pid (agents first) and removes the temp folder. */
  async stop(): Promise<void> {
    await Promise.all([...this.agents.values()].map((a) => a.stop()));
    await this.rportd?.stop();
    await rm(this.dir, { recursive: true, force: true });
  }

  basic(): string {
    return `Basic ${Buffer.from(`${this.admin.username}:${this.admin.password}`).toString('base64')}`;
  }

  private async writeServerConfig(): Promise<void> {
    const extra = [
      this.opts.maxFilepushSize === undefined ? '' : `max_filepush_size = ${this.opts.maxFilepushSize}`,
      this.opts.testEndpoints ? 'enable_ws_test_endpoints = true' : '',
      ...(this.opts.serverLines ?? []),
    ].filter((l) => l !== '');
    if (!extra.some((l) => l.startsWith('keep_staged_for'))) extra.push('keep_staged_for = 0');
    await writeFile(
      join(this.dir, 'rportd.conf'),
      `[server]
address = "127.0.0.1:${this.sshPort}"
data_dir = "server-data"
auth = "${this.agentAuth}"
${extra.join('\n')}

[api]
address = "127.0.0.1:${this.apiPort}"
${this.opts.databaseUsers ? '' : `auth = "${this.admin.username}:${this.admin.password}"`}
`,
      { mode: 0o600 },
    );
  }
}
