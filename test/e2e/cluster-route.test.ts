import { expect } from 'chai';
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { runToExit } from '../support/exit-run.ts';
import { NatsServerProcess, natsServerOrSkip } from '../support/nats-server.ts';
import { sharedPostgres, type TestPostgres } from '../support/postgres.ts';
import { eventually } from './helpers/eventually.ts';
import { multipart } from './helpers/multipart.ts';
import { BIN, freePort, Proc, requireBuilt } from './helpers/processes.ts';

const secret = (): string => randomBytes(24).toString('base64url');
const FINGERPRINT = /host key fingerprint (SHA256:[A-Za-z0-9+/]{43})/;
const md5 = (b: Buffer): string => createHash('md5').update(b).digest('hex');

interface Node {
  name: string;
  ssh: number;
  api: number;
  fingerprint: string;
  proc?: Proc;
}

interface Target {
  client_id: string;
  status: string;
  message: string;
}

// Two rportd processes on one PostgreSQL and one nats-server, each with its own agents: one upload
// sent to node-1 reaches the agents of both, node-2 pushing its own from its copy of the shared object.
describe('e2e: two rportd nodes on PostgreSQL and NATS route each target to its client’s node', function () {
  this.timeout(180_000);
  let pgServer: TestPostgres;
  let nats: NatsServerProcess | undefined;
  let dbUrl: string;
  let dir: string;
  const admin = { username: 'admin', password: secret() };
  const agentAuth = `agents:${secret()}`;
  const jwtSecret = secret();
  const nodes: Node[] = [];
  const agents: Proc[] = [];

  before(async function () {
    const bin = await natsServerOrSkip(this, 'the cluster routing process test');
    pgServer = await sharedPostgres(this, 'the cluster routing process test');
    requireBuilt();
    nats = await NatsServerProcess.start(bin);
    dbUrl = await pgServer.emptyDatabase();
    dir = await mkdtemp(join(tmpdir(), 'rport-route-'));
    // Each agent runs in its own host folder; {dir}/host leads each to its own (see helpers/cluster.ts).
    await symlink('/proc/self/cwd', join(dir, 'host'));
  });

  after(async () => {
    for (const a of agents) await a.stop();
    for (const n of nodes) await n.proc?.stop();
    await nats?.dispose();
    if (dbUrl) await pgServer.drop(dbUrl);
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  async function startNode(name: string): Promise<Node> {
    const n: Node = { name, ssh: await freePort(), api: await freePort(), fingerprint: '' };
    const conf = join(dir, `${name}.conf`);
    await writeFile(
      conf,
      `[server]
address = "127.0.0.1:${n.ssh}"
data_dir = "${name}-data"
auth = "${agentAuth}"
keep_staged_for = 0
max_filepush_size = 134217728

[api]
address = "127.0.0.1:${n.api}"
auth = "${admin.username}:${admin.password}"
jwt_secret = "${jwtSecret}"

[cluster]
node_id = "${name}"
database_url = "${dbUrl}"
nats_url = "${nats!.url}"
`,
      { mode: 0o600 },
    );
    n.proc = new Proc(name, BIN.rportd, ['--config', conf], { cwd: dir });
    [, n.fingerprint] = await n.proc.waitFor(FINGERPRINT, 30_000);
    await n.proc.waitFor(/rportd API listening on/, 30_000);
    nodes.push(n);
    return n;
  }

  async function startAgent(id: string, n: Node): Promise<void> {
    const host = join(dir, 'hosts', id);
    await mkdir(host, { recursive: true });
    const conf = join(dir, `${id}.conf`);
    await writeFile(
      conf,
      `[client]
server = "127.0.0.1:${n.ssh}"
fingerprint = "${n.fingerprint}"
auth = "${agentAuth}"
id = "${id}"
data_dir = "${join(dir, 'agent-data', id)}"
`,
      { mode: 0o600 },
    );
    const agent = new Proc(id, BIN.rport, ['--config', conf], { cwd: host });
    agents.push(agent);
    await agent.waitFor(/connected/, 30_000);
  }

  async function call(n: Node, method: string, path: string, init: RequestInit = {}): Promise<Response> {
    const login = await fetch(`http://127.0.0.1:${n.api}/api/v1/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(admin),
    });
    const token = ((await login.json()) as { data: { token: string } }).data.token;
    return fetch(`http://127.0.0.1:${n.api}${path}`, {
      ...init,
      method,
      headers: { ...(init.headers as Record<string, string>), authorization: `Bearer ${token}` },
    });
  }

  async function targets(n: Node, uuid: string): Promise<Target[]> {
    const res = await call(n, 'GET', `/api/v1/files/${uuid}`);
    expect(res.status).to.equal(200);
    const body = (await res.json()) as { data: { targets: Target[] } };
    return body.data.targets.sort((a, b) => a.client_id.localeCompare(b.client_id));
  }

  async function staged(n: Node): Promise<string[]> {
    return (await readdir(join(dir, `${n.name}-data`, 'filepush'))).sort();
  }

  it('one upload to node-1 reaches the agents of both nodes; nothing stays staged anywhere', async () => {
    const one = await startNode('node-1');
    const two = await startNode('node-2');
    expect(one.proc!.output()).to.contain('staged files and routing on NATS');
    await startAgent('a1', one);
    await startAgent('a2', one);
    await startAgent('b1', two);
    await startAgent('b2', two);

    // Two MiB of random bytes: an object of many chunks.
    const content = randomBytes(2 * 1024 * 1024 + 17);
    const { body, contentType } = multipart([
      { name: 'upload', filename: 'routed.bin', content },
      ...['a1', 'a2', 'b1', 'b2'].map((id): [string, string] => ['client_id', id]),
      ['dest', join(dir, 'host', 'routed', 'routed.bin')],
    ]);
    const res = await call(one, 'POST', '/api/v1/files', {
      headers: { 'content-type': contentType },
      body: new Uint8Array(body),
    });
    const answer = (await res.json()) as { data: { uuid: string } };
    expect(res.status, JSON.stringify(answer)).to.equal(200);
    const { uuid } = answer.data;

    // The results are in the shared database: node-2 answers with the same as node-1.
    await eventually(async () => {
      expect((await targets(two, uuid)).map((t) => t.status)).to.deep.equal(Array(4).fill('success'));
    }, 60_000);
    expect(await targets(one, uuid)).to.deep.equal(await targets(two, uuid));
    for (const id of ['a1', 'a2', 'b1', 'b2'])
      expect(md5(await readFile(join(dir, 'hosts', id, 'routed', 'routed.bin'))), id).to.equal(md5(content));
    // node-2 pushed its own agents: node-1 handed them over.
    expect(two.proc!.output()).to.contain('served targets routed here');
    expect(one.proc!.output()).to.contain('client b1 is connected to node node-2');

    // No staged file on either node, nor in the bucket.
    await eventually(async () => {
      expect(await staged(one), 'node-1 filepush/').to.deep.equal([]);
      expect(await staged(two), 'node-2 filepush/').to.deep.equal([]);
      const nc = await connect({ servers: nats!.url });
      try {
        const info = await (await jetstreamManager(nc)).streams.info('OBJ_rport-staged');
        expect(info.state.messages, 'messages in the bucket').to.equal(0);
      } finally {
        await nc.close();
      }
    }, 30_000);
  });

  it('a 64 MiB upload routed to node-2: neither node’s peak RSS grows by the file’s size', async () => {
    const [one, two] = nodes;
    const size = 64 * 1024 * 1024;
    const peak = async (n: Node): Promise<number> => {
      const status = await readFile(`/proc/${n.proc!.child.pid}/status`, 'utf8');
      return Number(/VmHWM:\s+(\d+) kB/.exec(status)![1]) * 1024;
    };
    const before = [await peak(one), await peak(two)];
    const content = randomBytes(size);
    const { body, contentType } = multipart([
      { name: 'upload', filename: 'big.bin', content },
      ['client_id', 'b1'],
      ['dest', join(dir, 'host', 'big.bin')],
    ]);
    const res = await call(one, 'POST', '/api/v1/files', {
      headers: { 'content-type': contentType },
      body: new Uint8Array(body),
    });
    expect(res.status).to.equal(200);
    const { uuid } = ((await res.json()) as { data: { uuid: string } }).data;
    await eventually(async () => {
      expect((await targets(two, uuid)).map((t) => t.status)).to.deep.equal(['success']);
    }, 120_000);
    expect(md5(await readFile(join(dir, 'hosts', 'b1', 'big.bin')))).to.equal(md5(content));
    const growth = [(await peak(one)) - before[0], (await peak(two)) - before[1]];
    expect(growth[0], `node-1 peak RSS grew by ${growth[0]} bytes`).to.be.below(size);
    expect(growth[1], `node-2 peak RSS grew by ${growth[1]} bytes`).to.be.below(size);
    console.log(
      `      peak RSS growth for a ${size}-byte upload: node-1 ${growth[0]}, node-2 ${growth[1]} bytes`,
    );
  });

  it('a NATS outage is logged once by each node; after it, a push to node-2 reaches node-1’s agents', async () => {
    const [one, two] = nodes;
    await nats!.stop();
    for (const n of nodes) await n.proc!.waitFor(/NATS unreachable/, 30_000);
    await nats!.resume();
    for (const n of nodes) await n.proc!.waitFor(/NATS answers again/, 30_000);
    for (const n of nodes) expect(n.proc!.output().match(/NATS unreachable/g), n.name).to.have.length(1);

    const content = Buffer.from('after the outage\n');
    const { body, contentType } = multipart([
      { name: 'upload', filename: 'after.txt', content },
      ['client_id', 'a1'],
      ['dest', join(dir, 'host', 'after.txt')],
    ]);
    const res = await call(two, 'POST', '/api/v1/files', {
      headers: { 'content-type': contentType },
      body: new Uint8Array(body),
    });
    expect(res.status).to.equal(200);
    const { uuid } = ((await res.json()) as { data: { uuid: string } }).data;
    await eventually(async () => {
      expect((await targets(one, uuid)).map((t) => [t.client_id, t.status])).to.deep.equal([
        ['a1', 'success'],
      ]);
    }, 60_000);
    expect(md5(await readFile(join(dir, 'hosts', 'a1', 'after.txt')))).to.equal(md5(content));
    await eventually(async () => {
      expect(await staged(one)).to.deep.equal([]);
      expect(await staged(two)).to.deep.equal([]);
    }, 30_000);
  });

  it('an unreachable NATS stops the start with exit 2 naming the key, the password masked', async () => {
    const down = `nats://rport:hidden-secret@127.0.0.1:${await freePort()}`;
    for (const [cluster, expected] of [
      [`database_url = "${dbUrl}"\nnats_url = "${down}"`, '[cluster] nats_url: cannot use NATS'],
    ]) {
      const conf = join(dir, 'bad.conf');
      await writeFile(
        conf,
        `[server]\naddress = "127.0.0.1:0"\ndata_dir = "bad-data"\n[api]\naddress = "127.0.0.1:0"\n` +
          `auth = "admin:${admin.password}"\n[cluster]\nnode_id = "bad"\n${cluster}\n`,
      );
      const r = await runToExit([process.execPath, BIN.rportd, '--config', conf], { cwd: dir });
      expect(r.code, r.stderr).to.equal(2);
      expect(r.stderr).to.contain(`${conf}: ${expected}`);
      expect(r.stderr + r.stdout).not.to.contain('hidden-secret');
    }
  });
});
