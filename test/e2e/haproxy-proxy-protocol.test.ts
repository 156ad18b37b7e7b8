import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import ssh2 from 'ssh2';
import { haproxyOrSkip, TestHaproxy } from '../support/haproxy.ts';
import { multipart } from './helpers/multipart.ts';
import { BIN, freePort, Proc, requireBuilt } from './helpers/processes.ts';

const secret = (): string => randomBytes(18).toString('base64url');

/** One SSH login to port from the loopback address `from`: 'ALLOWED', or why it failed. */
function sshLogin(port: number, from: string, password: string): Promise<string> {
  return new Promise((resolve) => {
    const c = new ssh2.Client();
    let done = false;
    const finish = (why: string): void => {
      if (done) return;
      done = true;
      c.end();
      resolve(why);
    };
    c.once('ready', () => finish('ALLOWED'));
    c.on('error', (e) => finish(e.message));
    c.once('close', () => finish('connection closed by the server'));
    c.connect({
      host: '127.0.0.1',
      port,
      localAddress: from,
      username: 'agents',
      password,
      hostVerifier: () => true,
      readyTimeout: 20_000,
    });
  });
}

/** POST /api/v1/login from the loopback address `from`; the status. */
function apiLogin(port: number, from: string, username: string, password: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const body = JSON.stringify({ username, password });
    const req = request(
      {
        host: '127.0.0.1',
        port,
        localAddress: from,
        method: 'POST',
        path: '/api/v1/login',
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
      },
      (res) => {
        res.resume();
        res.once('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.once('error', reject);
    req.end(body);
  });
}

describe('e2e: rportd behind a real HAProxy sending PROXY v2 (issue 21 item 4)', function () {
  this.timeout(120_000);
  let dir: string | undefined;
  let haproxy: TestHaproxy | undefined;
  let rportd: Proc | undefined;
  let agent: Proc | undefined;

  afterEach(async () => {
    await agent?.stop();
    await rportd?.stop();
    await haproxy?.dispose();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('an agent logs in through it, and wrong passwords ban only the source address they came from', async function () {
    const bin = await haproxyOrSkip(this, 'the HAProxy PROXY protocol e2e test');
    requireBuilt();
    dir = await mkdtemp(join(tmpdir(), 'rport-haproxy-e2e-'));
    const [ssh, api, feSsh, feApi] = [await freePort(), await freePort(), await freePort(), await freePort()];
    const admin = { username: 'admin', password: secret() };
    const agentPassword = secret();
    const conf = join(dir, 'rportd.conf');
    await writeFile(
      conf,
      `[server]
address = "127.0.0.1:${ssh}"
data_dir = "data"
auth = "agents:${agentPassword}"
max_failed_login = 2
proxy_protocol_from = ["127.0.0.1"]

[api]
address = "127.0.0.1:${api}"
auth = "${admin.username}:${admin.password}"
max_failed_login = 2
proxy_protocol_from = ["127.0.0.1"]

[logging]
format = "json"
log_level = "debug"
`,
      { mode: 0o600 },
    );
    rportd = new Proc('rportd', BIN.rportd, ['--config', conf], { cwd: dir });
    const [, fingerprint] = await rportd.waitFor(/host key fingerprint (SHA256:[A-Za-z0-9+/]{43})/, 30_000);
    await rportd.waitFor(/rportd API listening on/, 30_000);
    haproxy = await TestHaproxy.start(bin, [
      {
        name: 'rport_ssh',
        port: feSsh,
        servers: [{ name: 'node-1', port: ssh }],
        sendProxy: true,
        balance: 'leastconn',
      },
      {
        name: 'rport_api',
        port: feApi,
        servers: [{ name: 'node-1', port: api }],
        sendProxy: true,
        httpCheck: '/health',
        balance: 'roundrobin',
      },
    ]);

    // An agent whose one address is HAProxy's.
    const agentConf = join(dir, 'rport.conf');
    await writeFile(
      agentConf,
      `[client]
server = "127.0.0.1:${feSsh}"
fingerprint = "${fingerprint}"
auth = "agents:${agentPassword}"
id = "behind-haproxy"
data_dir = "${join(dir, 'agent')}"
`,
      { mode: 0o600 },
    );
    agent = new Proc('rport', BIN.rport, ['--config', agentConf]);
    await agent.waitFor(/connected to the server/, 30_000);
    await rportd.waitFor(
      /"client_id":"behind-haproxy"[^\n]*"msg":"client connected"|"msg":"client connected"[^\n]*"client_id":"behind-haproxy"/,
      30_000,
    );

    // A push to it: the fetch goes over TLS on the SSH port, through HAProxy (the port the agent
    // reached) and its PROXY header, not around it nor by SFTP.
    const content = randomBytes(4 * 1024 * 1024 + 11); // at least file_tls_min_size
    const { body, contentType } = multipart([
      { name: 'upload', filename: 'f.bin', content },
      ['client_id', 'behind-haproxy'],
      ['dest', join(dir, 'placed', 'f.bin')],
    ]);
    const basic = Buffer.from(`${admin.username}:${admin.password}`).toString('base64');
    const up = await fetch(`http://127.0.0.1:${feApi}/api/v1/files`, {
      method: 'POST',
      headers: { authorization: `Basic ${basic}`, 'content-type': contentType },
      body: new Uint8Array(body),
    });
    expect(up.status, await up.clone().text()).to.equal(200);
    await rportd.waitFor(
      /"client_id":"behind-haproxy"[^\n]*"address":"127\.0\.0\.1"[^\n]*"msg":"file TLS fetch started"/,
      30_000,
    );
    await agent.waitFor(/file successfully copied/, 30_000);
    expect((await readFile(join(dir, 'placed', 'f.bin'))).equals(content)).to.equal(true);
    expect(agent.output()).to.not.contain('TLS fetch failed');

    // SSH: two wrong passwords from 127.0.0.2 ban it; 127.0.0.3 still gets in through the same HAProxy.
    expect(await sshLogin(feSsh, '127.0.0.2', 'wrong-1')).to.not.equal('ALLOWED');
    expect(await sshLogin(feSsh, '127.0.0.2', 'wrong-2')).to.not.equal('ALLOWED');
    expect(await sshLogin(feSsh, '127.0.0.2', agentPassword)).to.not.equal('ALLOWED');
    expect(await sshLogin(feSsh, '127.0.0.3', agentPassword)).to.equal('ALLOWED');
    const log = rportd.output();
    expect(log).to.match(/"address":"127\.0\.0\.2"[^\n]*client login banned/);
    expect(log).to.not.match(/"address":"127\.0\.0\.3"[^\n]*client login (failed|banned)/);
    // The agent behind HAProxy is unaffected: still connected, never banned.
    expect(log).to.not.match(/"address":"127\.0\.0\.1"[^\n]*client login/);

    // API: the same through the API frontend.
    expect(await apiLogin(feApi, '127.0.0.2', admin.username, 'wrong-1')).to.equal(401);
    expect(await apiLogin(feApi, '127.0.0.2', admin.username, 'wrong-2')).to.equal(401);
    expect(await apiLogin(feApi, '127.0.0.2', admin.username, admin.password)).to.equal(429);
    expect(await apiLogin(feApi, '127.0.0.3', admin.username, admin.password)).to.equal(200);

    // HAProxy's own health checks carry a header too: none was dropped.
    expect(rportd.output()).to.not.contain('no valid PROXY protocol header');
    expect(await haproxy.proxy.serverStates('rport_api_nodes')).to.deep.equal({ 'node-1': 'UP' });
    expect(agent.running).to.equal(true);
  });
});
