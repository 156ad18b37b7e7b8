import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import ssh2 from 'ssh2';
import { multipart } from './helpers/multipart.ts';
import { BIN, freePort, Proc, requireBuilt } from './helpers/processes.ts';

type Line = Record<string, unknown>;
const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;
const LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal'];

/** The JSON lines a program printed on stdout (stderr's plain lines are left out). */
const jsonLines = (p: Proc): Line[] =>
  p
    .output()
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Line);

/** An SSH login as `id` with a wrong password: resolves once the server has answered it. */
const wrongSshLogin = (port: number, id: string): Promise<void> =>
  new Promise((resolve) => {
    const c = new ssh2.Client();
    c.once('ready', () => (c.end(), resolve()));
    c.once('error', () => resolve());
    c.once('close', () => resolve());
    c.connect({ host: '127.0.0.1', port, username: id, password: 'not-it', hostVerifier: () => true });
  });

/**
 * rportd and one agent as processes, both with `[logging] format = "json"`: the lines a sysadmin
 * reads to follow a push, a password guesser and a shutdown.
 */
describe('logs that tell the story (rportd and rport as processes, [logging] format = "json")', function () {
  this.timeout(90_000);
  let dir: string;
  let rportd: Proc;
  let agent: Proc;
  let apiUrl: string;
  let sshPort: number;
  const admin = `admin:${randomBytes(9).toString('base64url')}`;
  const basic = `Basic ${Buffer.from(admin).toString('base64')}`;

  before(async () => {
    requireBuilt();
    dir = await mkdtemp(join(tmpdir(), 'rport-logs-'));
    const apiPort = await freePort();
    sshPort = await freePort();
    apiUrl = `http://127.0.0.1:${apiPort}`;
    const agents = `e2e-agents:${randomBytes(9).toString('base64url')}`;
    await writeFile(
      join(dir, 'rportd.conf'),
      `[server]\naddress = "127.0.0.1:${sshPort}"\ndata_dir = "server-data"\nauth = "${agents}"\n` +
        `max_failed_login = 2\nban_time = 60\n\n` +
        `[api]\naddress = "127.0.0.1:${apiPort}"\nauth = "${admin}"\nmax_failed_login = 2\nban_time = 60\n\n` +
        `[logging]\nlevel = "info"\nformat = "json"\n`,
      { mode: 0o600 },
    );
    rportd = new Proc('rportd', BIN.rportd, ['--config', join(dir, 'rportd.conf')]);
    const fingerprint = (await rportd.waitFor(/fingerprint (SHA256:[A-Za-z0-9+/]{43})/, 30_000))[1];
    await rportd.waitFor(/rportd API listening on/, 30_000);
    await mkdir(join(dir, 'host'));
    await writeFile(
      join(dir, 'rport.conf'),
      `[client]\nserver = "127.0.0.1:${sshPort}"\nfingerprint = "${fingerprint}"\nauth = "${agents}"\n` +
        `id = "logs-1"\ndata_dir = "agent-data"\n\n[file-reception]\nbackup = true\n` +
        `protected = ["${join(dir, 'host', 'locked')}"]\n\n` +
        `[logging]\nformat = "json"\n`,
      { mode: 0o600 },
    );
    agent = new Proc('rport', BIN.rport, ['--config', join(dir, 'rport.conf')]);
    await agent.waitFor(/connected to the server/, 30_000);
  });
  after(async () => {
    await agent?.stop();
    await rportd?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const upload = async (content: string, force: boolean): Promise<string> => {
    const { body, contentType } = multipart([
      { name: 'upload', filename: 'app.conf', content: Buffer.from(content) },
      ['client_id', 'logs-1'],
      ['dest', join(dir, 'host', 'app.conf')],
      ['force', String(force)],
    ]);
    const res = await fetch(`${apiUrl}/api/v1/files`, {
      method: 'POST',
      headers: { authorization: basic, 'content-type': contentType },
      body: new Uint8Array(body),
    });
    expect(res.status).to.equal(200);
    return ((await res.json()) as { data: { uuid: string } }).data.uuid;
  };

  it("a push: rportd's outcome line and the agent's placement line, then the backup of a replaced file", async () => {
    const dest = join(dir, 'host', 'app.conf');
    const first = await upload('v1\n', false);
    await rportd.waitFor(new RegExp(`"uuid":"${first}"[^\\n]*push to logs-1`), 30_000);
    await agent.waitFor(new RegExp(`"uuid":"${first}"[^\\n]*placed `), 30_000);
    const outcome = jsonLines(rportd).find((l) => l.uuid === first && l.client_id === 'logs-1')!;
    expect(outcome).to.include({ level: 'info', status: 'success', dest, size: 3 });
    const placed = jsonLines(agent).find((l) => l.uuid === first)!;
    expect(placed).to.include({
      level: 'info',
      name: 'rport',
      status: 'success',
      dest,
      msg: `placed ${dest}`,
    });
    expect(placed.detail).to.be.a('string').and.not.equal('');

    const second = await upload('v2\n', true);
    await agent.waitFor(new RegExp(`"uuid":"${second}"[^\\n]*placed `), 30_000);
    const backup = jsonLines(agent).find((l) => typeof l.backup === 'string')!;
    expect(backup).to.include({ level: 'info', dest });
    expect(await readFile(backup.backup as string, 'utf8')).to.equal('v1\n');
  });

  it('a push the agent refuses: an error outcome at warn on both sides', async () => {
    // A protected path of this agent's own, inside the test folder: nothing outside it is ever written.
    const { body, contentType } = multipart([
      { name: 'upload', filename: 'x', content: Buffer.from('x') },
      ['client_id', 'logs-1'],
      ['dest', join(dir, 'host', 'locked', 'x')],
    ]);
    const res = await fetch(`${apiUrl}/api/v1/files`, {
      method: 'POST',
      headers: { authorization: basic, 'content-type': contentType },
      body: new Uint8Array(body),
    });
    const uuid = ((await res.json()) as { data: { uuid: string } }).data.uuid;
    await rportd.waitFor(new RegExp(`"uuid":"${uuid}"[^\\n]*push to logs-1 failed`), 30_000);
    await agent.waitFor(new RegExp(`"uuid":"${uuid}"[^\\n]*refused or failed`), 30_000);
    expect(jsonLines(rportd).find((l) => l.uuid === uuid && l.client_id === 'logs-1')).to.include({
      level: 'warn',
      status: 'error',
    });
    expect(jsonLines(agent).find((l) => l.uuid === uuid)).to.include({
      level: 'warn',
      status: 'error',
      dest: join(dir, 'host', 'locked', 'x'),
    });
  });

  it('failed API logins, the ban they start with its expiry, and the 429 after: one line each, no password', async () => {
    for (const password of ['guess-one', 'guess-two']) {
      const res = await fetch(`${apiUrl}/api/v1/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ username: 'admin', password }),
      });
      expect(res.status).to.equal(401);
    }
    const refused = await fetch(`${apiUrl}/api/v1/clients`, { headers: { authorization: basic } });
    expect(refused.status).to.equal(429);
    await rportd.waitFor(/answered 429 Too Many Requests/, 10_000);
    const lines = jsonLines(rportd);
    const failed = lines.filter((l) => l.msg === 'API login failed');
    expect(failed.map((l) => [l.level, l.username, l.address])).to.deep.equal([
      ['warn', 'admin', '127.0.0.1'],
      ['warn', 'admin', '127.0.0.1'],
    ]);
    const ban = lines.find((l) => String(l.msg).startsWith('API login banned'))!;
    expect(ban.expires_at).to.match(ISO);
    expect(lines.find((l) => l.msg === 'answered 429 Too Many Requests')).to.include({
      level: 'warn',
      address: '127.0.0.1',
      path: '/api/v1/clients',
    });
    expect(rportd.output()).to.not.include('guess-one').and.not.include('guess-two');
  });

  it('wrong SSH passwords: the ban line has the address, the credential id and when it ends', async () => {
    // Each failure is answered once its first penalty step is over, so the second is checked too.
    await wrongSshLogin(sshPort, 'guesser');
    await wrongSshLogin(sshPort, 'guesser');
    await rportd.waitFor(/client login banned/, 10_000);
    const ban = jsonLines(rportd).find((l) => String(l.msg).startsWith('client login banned'))!;
    expect(ban).to.include({ level: 'warn', address: '127.0.0.1', credential_id: 'guesser' });
    expect(ban.expires_at).to.match(ISO);
    expect(Date.parse(ban.expires_at as string)).to.be.greaterThan(Date.parse(ban.time as string));
  });

  it('every line of both programs: an ISO 8601 time and a level name', () => {
    const all = [...jsonLines(rportd), ...jsonLines(agent)];
    expect(all.length).to.be.greaterThan(10);
    for (const l of all) {
      expect(l.time, JSON.stringify(l)).to.match(ISO);
      expect(LEVELS, JSON.stringify(l)).to.include(l.level);
    }
  });

  it('the agent logs its shutdown with the signal and the reason', async () => {
    expect(await agent.stop()).to.equal(0);
    const lines = jsonLines(agent);
    expect(lines.find((l) => l.msg === 'rport shutting down')).to.include({
      level: 'info',
      signal: 'SIGTERM',
    });
    expect(lines.find((l) => l.msg === 'rport shutting down')!.reason).to.be.a('string');
    expect(lines.at(-1)).to.include({ msg: 'rport stopped', signal: 'SIGTERM' });
  });

  it('rportd logs its shutdown with the signal, through the logger', async () => {
    expect(await rportd.stop()).to.equal(0);
    const lines = jsonLines(rportd);
    expect(lines.find((l) => l.msg === 'rportd shutting down')).to.include({
      level: 'info',
      signal: 'SIGTERM',
    });
    expect(lines.at(-1)).to.include({ msg: 'rportd stopped' });
  });
});
