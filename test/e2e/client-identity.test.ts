import { expect } from 'chai';
import { readFile, stat } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import ssh2 from 'ssh2';
import { AGENT_KEY_FILE } from '../../src/adapters/ssh/agent/agent-key.ts';
import { LEGACY_CONTROL_SUBSYSTEM } from '../../src/adapters/ssh/protocol.ts';
import { helloAs, linesOf, ROGUE_KEY, until } from '../adapters/ssh/rogue.ts';
import { Cluster } from './helpers/cluster.ts';
import { BIN, runToEnd } from './helpers/processes.ts';

type Entry = { action: string; client_id: string; username: string; request: Record<string, unknown> };

describe('e2e: a client id belongs to its agent (issue 17 item 5): rportd, a real rport, an impostor', function () {
  this.timeout(90_000);
  let c: Cluster;
  let auth: { user: string; password: string };
  const raws: ssh2.Client[] = [];

  before(async () => {
    c = await Cluster.start({ agents: [{ id: 'web-1' }] });
    // The impostor holds the shared agent credential, as the review's rogue did.
    const conf = await readFile(join(c.dir, 'web-1.conf'), 'utf8');
    const [user, password] = /auth = "([^:]+):([^"]+)"/.exec(conf)!.slice(1);
    auth = { user, password };
  });
  after(async () => {
    for (const r of raws) r.destroy();
    await c?.stop();
  });

  const impostor = (): Promise<ssh2.Client> =>
    new Promise((resolve, reject) => {
      const client = new ssh2.Client();
      raws.push(client);
      client.once('ready', () => resolve(client));
      client.once('error', reject);
      client.connect({
        host: '127.0.0.1',
        port: c.sshPort,
        username: auth.user,
        password: auth.password,
        hostVerifier: () => true,
        readyTimeout: 10_000,
      });
    });
  const audit = async (action: string): Promise<Entry[]> =>
    (await c.api('GET', `/api/v1/audit-logs?filter[application]=clients&filter[action]=${action}`)).body!
      .data as Entry[];
  const stored = async (): Promise<Record<string, unknown>> =>
    ((await c.api('GET', '/api/v1/clients')).body!.data as Record<string, unknown>[]).find(
      (x) => x.id === 'web-1',
    )!;

  it('the agent made its key in its data_dir: the file 0600, the folder 0700, and rportd bound the id to it', async () => {
    expect((await stat(join(c.agentDataDir('web-1'), AGENT_KEY_FILE))).mode & 0o777).to.equal(0o600);
    expect((await stat(c.agentDataDir('web-1'))).mode & 0o777).to.equal(0o700);
    const bound = await audit('key-bound');
    expect(bound.map((e) => e.client_id)).to.deep.equal(['web-1']);
    const key = await c.api('GET', '/api/v1/clients/web-1/key');
    expect((key.body!.data as { fingerprint: string }).fingerprint).to.equal(bound[0].request.key);
  });

  it('an impostor with the right password and another key is refused and audited while the real agent is online', async () => {
    const { refused } = await helloAs(await impostor(), 'web-1');
    expect(refused).to.include('client id web-1 belongs to another agent key');
    const mismatches = await audit('key-mismatch');
    expect(mismatches).to.have.length(1);
    expect(mismatches[0].request).to.deep.include({ online: true, presented_key: ROGUE_KEY.fingerprint });
    expect(await stored()).to.deep.include({ hostname: hostname(), connected: true });
  });

  it('…and while it is offline; the stored facts stay the real agent’s', async () => {
    await c.agents.get('web-1')!.stop();
    await until(async () => (await stored()).connected === false);
    const { refused } = await helloAs(await impostor(), 'web-1');
    expect(refused).to.include('belongs to another agent key');
    const mismatches = await audit('key-mismatch');
    expect(mismatches).to.have.length(2);
    expect(mismatches[0].request).to.deep.include({ online: false }); // newest first
    expect(await stored()).to.deep.include({ hostname: hostname(), connected: false, tags: [] });
  });

  it('a protocol 1 agent gets an error naming what to upgrade', async () => {
    const client = await impostor();
    const control = await new Promise<ssh2.ClientChannel>((resolve, reject) =>
      client.subsys(LEGACY_CONTROL_SUBSYSTEM, (e, ch) => (e ? reject(e) : resolve(ch))),
    );
    const lines = linesOf(control);
    control.write(JSON.stringify({ type: 'hello', protocol: 1, id: 'web-1' }) + '\n');
    await until(() => lines.length > 0);
    expect(lines[0]).to.deep.include({ type: 'error' });
    expect(String(lines[0].message)).to.include('upgrade the agent (rport)');
  });

  it('after `rportcli clients release-key`, a new key binds, and the old agent is then the one refused', async () => {
    const env = {
      PATH: process.env.PATH,
      HOME: c.dir,
      XDG_CONFIG_HOME: join(c.dir, 'config'),
      RPORT_API_URL: c.url,
      RPORT_API_USER: c.admin.username,
      RPORT_API_PASSWORD: c.admin.password,
    };
    const r = await runToEnd(BIN.rportcli, ['clients', 'release-key', 'web-1'], env);
    expect(r.code, r.stderr).to.equal(0);
    expect((await audit('key-released')).map((e) => e.username)).to.deep.equal([c.admin.username]);
    const reinstalled = await helloAs(await impostor(), 'web-1');
    expect(reinstalled.refused).to.equal(undefined);
    expect(await stored()).to.deep.include({ hostname: 'web-1', connected: true });
    reinstalled.control.close();
    for (const raw of raws) raw.end();
    await until(async () => (await stored()).connected === false);
    const old = await c.startAgent('web-1');
    await old.waitFor(/belongs to another agent key/, 30_000);
  });
});
