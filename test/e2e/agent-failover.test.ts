import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { multipart } from './helpers/multipart.ts';
import { OutcomeListener } from './helpers/outcome-listener.ts';
import { BIN, freePort, Proc, requireBuilt } from './helpers/processes.ts';

const secret = (): string => randomBytes(24).toString('base64url');
const FINGERPRINT = /host key fingerprint (SHA256:[A-Za-z0-9+/]{43})/;

/** One rportd node: its ports and process. */
interface Node {
  name: string;
  ssh: number;
  api: number;
  proc?: Proc;
}

/** The agent's JSON log lines about its link, in order: connects and switches, as short strings. */
function linkSteps(output: string): string[] {
  return output.split('\n').flatMap((line) => {
    if (!line.startsWith('{')) return [];
    const l = JSON.parse(line) as { msg: string; server?: string; from?: string; to?: string };
    if (l.msg === 'connected to the server') return [`connected ${l.server}`];
    if (l.msg === 'switching to the next server') return [`switch ${l.from} -> ${l.to}`];
    return [];
  });
}

describe('e2e: an agent with two rportd nodes in [client] server, the first killed with SIGKILL', function () {
  this.timeout(90_000);
  let dir: string;
  const admin = { username: 'admin', password: secret() };
  const agentAuth = `agents:${secret()}`;
  // Shared by both nodes, as a cluster's nodes share it: a token from one is good on the other.
  const jwtSecret = secret();
  let nodes: Node[] = [];
  let agent: Proc | undefined;

  before(() => requireBuilt());

  afterEach(async () => {
    await agent?.stop();
    for (const n of nodes) await n.proc?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  async function startNode(n: Node): Promise<string> {
    const conf = join(dir, `${n.name}.conf`);
    await writeFile(
      conf,
      `[server]
address = "127.0.0.1:${n.ssh}"
data_dir = "${n.name}-data"
auth = "${agentAuth}"

[api]
address = "127.0.0.1:${n.api}"
auth = "${admin.username}:${admin.password}"
jwt_secret = "${jwtSecret}"
`,
      { mode: 0o600 },
    );
    n.proc = new Proc(n.name, BIN.rportd, ['--config', conf]);
    const [, fingerprint] = await n.proc.waitFor(FINGERPRINT, 30_000);
    await n.proc.waitFor(/rportd API listening on/, 30_000);
    return fingerprint;
  }

  const url = (n: Node): string => `http://127.0.0.1:${n.api}`;

  async function login(n: Node): Promise<string> {
    const res = await fetch(`${url(n)}/api/v1/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(admin),
    });
    expect(res.status).to.equal(200);
    return ((await res.json()) as { data: { token: string } }).data.token;
  }

  it('the agent moves to the second node, and a push through the second node succeeds', async () => {
    dir = await mkdtemp(join(tmpdir(), 'rport-failover-'));
    nodes = [];
    for (const name of ['node-1', 'node-2'])
      nodes.push({ name, ssh: await freePort(), api: await freePort() });
    const [first, second] = nodes;
    const fingerprint = await startNode(first);
    // The nodes share the host key: node-2 starts with node-1's {data_dir}/rportd_host_key.
    await mkdir(join(dir, 'node-2-data'), { recursive: true });
    await copyFile(join(dir, 'node-1-data', 'rportd_host_key'), join(dir, 'node-2-data', 'rportd_host_key'));
    expect(await startNode(second)).to.equal(fingerprint);

    const conf = join(dir, 'rport.conf');
    await writeFile(
      conf,
      `[client]
server = ["127.0.0.1:${first.ssh}", "127.0.0.1:${second.ssh}"]
fingerprint = "${fingerprint}"
auth = "${agentAuth}"
id = "mover"
data_dir = "${join(dir, 'agent-data')}"
[logging]
format = "json"
`,
      { mode: 0o600 },
    );
    agent = new Proc('rport', BIN.rport, ['--config', conf]);
    await agent.waitFor(/connected to the server/, 30_000);
    const token = await login(first);

    await first.proc!.kill9();
    await agent.waitFor(/"msg":"connected to the server"[^\n]*\n[^]*"msg":"connected to the server"/, 30_000);
    expect(linkSteps(agent.output())).to.deep.equal([
      `connected 127.0.0.1:${first.ssh}`,
      `switch 127.0.0.1:${first.ssh} -> 127.0.0.1:${second.ssh}`,
      `connected 127.0.0.1:${second.ssh}`,
    ]);

    // The token node-1 issued is good on node-2 (shared JWT secret).
    const listener = await OutcomeListener.open(url(second), token);
    try {
      const content = randomBytes(100_000);
      const dest = join(dir, 'dest', 'after-failover.bin');
      const { body, contentType } = multipart([
        { name: 'upload', filename: 'payload.bin', content },
        ['client_id', 'mover'],
        ['dest', dest],
      ]);
      const res = await fetch(`${url(second)}/api/v1/files`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': contentType },
        body: new Uint8Array(body),
      });
      const answer = (await res.json()) as { data: { uuid: string } };
      expect(res.status, JSON.stringify(answer)).to.equal(200);
      const [o] = await listener.outcomesOf(answer.data.uuid, 1);
      expect(o.status, o.message).to.equal('success');
      expect((await readFile(dest)).equals(content)).to.equal(true);
    } finally {
      listener.close();
    }
  });
});
