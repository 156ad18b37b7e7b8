/**
 * `npm run demo` (without --cluster): the main job on embedded defaults. Starts rportd (temp data_dir, SQLite, a
 * generated host key) and three local rport agents pinned to its fingerprint, then pushes a
 * sample file through the real HTTP API with rportcli, showing each client's outcome live.
 * `--once` stops everything after the pushes; otherwise it keeps running until Ctrl-C. Either
 * way the last line says what was stopped and removed, printed only once it is true.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RportApiClient } from '../../adapters/rportcli-api/rport-api-client.ts';
import { BIN_DIR, freePort, Program } from './processes.ts';

const AGENTS = 3;
const once = process.argv.includes('--once');
const secret = (): string => randomBytes(12).toString('base64url');
const say = (text: string): void => void process.stdout.write(`\n\x1b[1m== ${text}\x1b[0m\n`);

const dir = await mkdtemp(join(tmpdir(), 'rport-demo-'));
const programs: Program[] = [];
let stopping = false;

async function stopAll(code: number, why: string): Promise<never> {
  if (!stopping) {
    stopping = true;
    await Promise.all(programs.map((p) => p.stop()));
    await rm(dir, { recursive: true, force: true });
    const stopped = programs.map((p) => p.label).join(', ') || 'nothing was running';
    console.log(`\n${why}: stopped ${stopped}; removed ${dir}.`);
  }
  process.exit(code);
}
process.on('SIGINT', () => void stopAll(0, 'Ctrl-C'));
process.on('SIGTERM', () => void stopAll(0, 'SIGTERM'));

try {
  const [apiPort, sshPort] = [await freePort(), await freePort()];
  const api = `http://127.0.0.1:${apiPort}`;
  const admin = { username: 'admin', password: secret() };
  const agentAuth = `demo-agents:${secret()}`;

  say(`Starting rportd (data in ${dir}/server)`);
  const serverConf = join(dir, 'rportd.conf');
  await writeFile(
    serverConf,
    `[server]
address = "127.0.0.1:${sshPort}"
data_dir = "server"
auth = "${agentAuth}"
enable_ws_test_endpoints = true

[api]
address = "127.0.0.1:${apiPort}"
auth = "${admin.username}:${admin.password}"
`,
    { mode: 0o600 },
  );
  const rportd = new Program('rportd', 'rportd.js', ['--config', serverConf]);
  programs.push(rportd);
  const fingerprint = (await rportd.waitFor(/host key fingerprint (SHA256:[A-Za-z0-9+/]+)/, 30_000))[1];
  await rportd.waitFor(/API listening/, 30_000);
  console.log(`rportd: API on ${api}, agents' SSH on 127.0.0.1:${sshPort}, host key ${fingerprint}`);

  say(`Starting ${AGENTS} rport agents, pinned to ${fingerprint}`);
  const ids = Array.from({ length: AGENTS }, (_, i) => `demo-client-${i + 1}`);
  for (const [i, id] of ids.entries()) {
    const conf = join(dir, `${id}.conf`);
    await writeFile(
      conf,
      `[client]
server = "127.0.0.1:${sshPort}"
fingerprint = "${fingerprint}"
auth = "${agentAuth}"
id = "${id}"
name = "Demo client ${i + 1}"
tags = ["demo"]
data_dir = "${id}"
`,
      { mode: 0o600 },
    );
    programs.push(new Program(id, 'rport.js', ['--config', conf]));
  }
  const client = new RportApiClient(api, admin);
  await waitForClients(client, ids);

  say('Creating the client group "demo" (every client tagged demo)');
  const token = await client.login(admin.username, admin.password);
  const created = await fetch(`${api}/api/v1/client-groups`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({
      id: 'demo',
      description: 'the demo agents',
      params: { tag: ['demo'] },
      allowed_user_groups: [],
    }),
  });
  if (!created.ok)
    throw new Error(`creating the client group failed: ${created.status} ${await created.text()}`);

  const sample = join(dir, 'hello.txt');
  await writeFile(sample, `Hello from rport-ts, pushed at ${new Date().toISOString()}\n`);
  const dest = join(dir, 'received', 'hello.txt');
  const env = {
    ...process.env,
    RPORT_API_URL: api,
    RPORT_API_USER: admin.username,
    RPORT_API_PASSWORD: admin.password,
  };

  say(`Push 1: ${sample} to group "demo" at ${dest} (mode 0640, force)`);
  console.log('(the three agents share this machine, so they place the same file, each atomically)');
  const first = await rportcli(
    ['upload', sample, '--group-id', 'demo', '--dest', dest, '--mode', '0640', '--force'],
    env,
  );

  const placed = await stat(dest).catch(() => undefined);
  const same = placed !== undefined && (await readFile(dest)).equals(await readFile(sample));
  console.log(
    same
      ? `checked: ${dest} holds the sample's bytes, mode ${(placed.mode & 0o7777).toString(8).padStart(4, '0')}`
      : `${dest} was not placed`,
  );

  say('Push 2: the same file to a protected path, /usr/bin/rport-demo: every agent refuses it');
  const second = await rportcli(
    ['upload', sample, '--client', ids.join(','), '--dest', '/usr/bin/rport-demo'],
    env,
  );
  console.log(
    `rportcli exit codes: push 1 → ${first} (0: every target succeeded), push 2 → ${second} (1: a target failed, as it should)`,
  );

  if (first !== 0 || second !== 1 || !same) {
    console.error('\nThe demo did not go as expected (see the outcomes above).');
    await stopAll(1, 'demo failed');
  }
  if (once) await stopAll(0, '--once: both pushes went as expected');

  say('Try it yourself: rportd and the agents keep running');
  console.log(`  The live results page:  ${api}/api/v1/test/uploads/ui
  Log in there as ${admin.username}, password ${admin.password}; upload a file and watch each target.

  curl, as in RPort's documentation (this token is valid for 1 hour):
    TOKEN=${token}
    curl -XPOST -H "Authorization: Bearer $TOKEN" \\
      -F 'upload=@/etc/hostname' -F 'client_id=${ids[0]}' -F 'client_id=${ids[1]}' \\
      -F 'dest=${join(dir, 'received', 'hostname')}' -F 'force=true' -F 'mode=0644' \\
      ${api}/api/v1/files

  rportcli:
    export RPORT_API_URL=${api} RPORT_API_USER=${admin.username} RPORT_API_PASSWORD=${admin.password}
    node ${BIN_DIR}rportcli.js clients
    node ${BIN_DIR}rportcli.js upload README.md --group-id demo --dest ${join(dir, 'received', 'README.md')} --sync

Everything runs from ${dir}. Press Ctrl-C to stop rportd and the agents and remove it.`);
  await new Promise(() => undefined); // until Ctrl-C
} catch (e) {
  console.error(`\ndemo failed: ${e instanceof Error ? e.message : String(e)}`);
  await stopAll(1, 'demo failed');
}

async function waitForClients(client: RportApiClient, ids: string[]): Promise<void> {
  const deadline = Date.now() + 60_000;
  let shown = -1;
  for (;;) {
    const connected = (await client.clients())
      .filter((c) => c.connected && ids.includes(c.id))
      .map((c) => c.id);
    if (connected.length !== shown)
      console.log(`connected: ${connected.length}/${ids.length} ${connected.join(' ')}`);
    shown = connected.length;
    if (connected.length === ids.length) return;
    if (Date.now() > deadline)
      throw new Error(`only ${connected.length} of ${ids.length} agents connected within 60 s`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

function rportcli(args: string[], env: NodeJS.ProcessEnv): Promise<number> {
  console.log(`$ rportcli ${args.join(' ')}`);
  const child = spawn(process.execPath, [BIN_DIR + 'rportcli.js', ...args], { stdio: 'inherit', env });
  return new Promise((resolve) => child.once('exit', (code) => resolve(code ?? 1)));
}
