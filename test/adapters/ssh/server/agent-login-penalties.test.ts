import { expect } from 'chai';
import { rm } from 'node:fs/promises';
import ssh2 from 'ssh2';
import { DEFAULT_AUTH_GUARD } from '../../../../src/adapters/auth/auth-guard.ts';
import type { PenaltySettings } from '../../../../src/adapters/auth/penalty-rules.ts';
import { CREDENTIALS, PASSWORD, startServer, type TestServer } from '../harness.ts';
import { MapCredentials } from '../fakes.ts';

/** The agents' credentials, each check taking a while (as scrypt does), counted. */
class CountingCredentials extends MapCredentials {
  checks = 0;
  wrongChecks = 0;
  constructor(private readonly delayMs: number) {
    super(CREDENTIALS);
  }
  override async verify(id: string, password: string): Promise<boolean> {
    this.checks += 1;
    if (password !== PASSWORD) this.wrongChecks += 1;
    await new Promise((resolve) => setTimeout(resolve, this.delayMs));
    return super.verify(id, password);
  }
}

/** One SSH login from 127.0.0.1: 'ALLOWED' (then closed), or why it failed. */
function login(port: number, password: string, username = 'agents'): Promise<string> {
  return new Promise((resolve) => {
    const c = new ssh2.Client();
    let done = false;
    const finish = (why: string) => {
      if (done) return;
      done = true;
      c.end();
      resolve(why);
    };
    c.once('ready', () => finish('ALLOWED'));
    c.on('error', (e) => finish(e.message)); // on: ssh2 may emit more than one
    c.once('close', () => finish('connection closed by the server'));
    c.connect({
      host: '127.0.0.1',
      port,
      username,
      password,
      hostVerifier: () => true,
      readyTimeout: 30_000,
    });
  });
}

describe('SSH login penalties on a real AgentListener (issue 17 item 3)', function () {
  this.timeout(90_000);
  let server: TestServer | undefined;
  let credentials: CountingCredentials;
  const start = async (auth: Partial<PenaltySettings>, delayMs = 30) => {
    credentials = new CountingCredentials(delayMs);
    server = await startServer({ credentials, settings: { auth: { ...DEFAULT_AUTH_GUARD, ...auth } } });
    return server;
  };
  const warns = (prefix: string) =>
    server!.logger.lines.filter((l) => l.level === 'warn' && l.message.startsWith(prefix));

  afterEach(async () => {
    if (!server) return;
    await server.stop();
    await rm(server.dataDir, { recursive: true, force: true });
    server = undefined;
  });

  it('300 parallel connections from one address, each with another wrong password: at most 10 password checks', async () => {
    const s = await start({}); // the defaults of rportd.conf: max_failed_login 5, ban_time 600
    const results = await Promise.all(Array.from({ length: 300 }, (_, i) => login(s.port, `guess-${i}`)));
    expect(results.filter((r) => r === 'ALLOWED')).to.have.length(0);
    expect(credentials.checks).to.be.within(1, 10);
    expect(warns('client login failed').length).to.equal(credentials.checks);
  });

  it('a good agent on the same address and credential id as a misconfigured one that keeps retrying gets in within the penalty arithmetic', async () => {
    // Short steps so that the whole sequence fits in a test: 20, 40, 80, 160 ms, then a 300 ms ban
    // (at rportd's defaults the same rules give 1, 2, 4, 8 s and 30 s: in within 45 s; see
    // test/adapters/auth/login-penalties.test.ts).
    const s = await start({ failureDelayMs: 20, maxShortPenaltyMs: 300, banMs: 60_000 }, 5);
    let stop = false;
    let misconfigured = 0;
    const retrying = (async () => {
      for (; !stop; misconfigured++) expect(await login(s.port, 'an-old-password')).to.not.equal('ALLOWED');
    })();
    // Its repeats earn it the short ban first (how soon depends on the machine's speed, so wait for
    // the ban's line, not a fixed time); the good agent then comes in while that ban runs. Started
    // earlier, the good agent's login would reset the ledger and the ban might never come.
    for (const until = Date.now() + 45_000; Date.now() < until && warns('client login banned').length === 0;)
      await new Promise((resolve) => setTimeout(resolve, 20));
    const began = Date.now();
    let attempts = 0;
    let result = '';
    while (result !== 'ALLOWED' && Date.now() - began < 20_000) {
      attempts += 1;
      result = await login(s.port, PASSWORD);
      if (result !== 'ALLOWED') await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const tookMs = Date.now() - began;
    stop = true;
    await retrying;
    expect(result).to.equal('ALLOWED');
    // 20 + 40 + 80 + 160 + 300 ms of penalties in a row at worst, plus the logins' own time.
    expect(tookMs).to.be.below(5_000);
    expect(misconfigured).to.be.above(5);
    // Its one wrong password was checked once; its repeats were recognised without a check.
    expect(credentials.wrongChecks).to.equal(1);
    // The ban's end is an ISO time that depends on the clock: its type is what is compared.
    expect(
      warns('client login banned').map((l) => ({ ...l.fields, expires_at: typeof l.fields.expires_at })),
    ).to.deep.include({
      address: '127.0.0.1',
      credential_id: 'agents',
      ban_s: 1,
      expires_at: 'string',
      failures: 5,
      passwords_tried: 1,
    });
    expect(attempts).to.be.above(0);
  });

  it('an address in [server] ban_exempt is never banned: every attempt is checked, and the right password gets in', async () => {
    const s = await start({ maxFailures: 2, failureDelayMs: 50, exempt: ['127.0.0.0/8'] }, 1);
    for (let i = 0; i < 8; i++) expect(await login(s.port, `guess-${i}`)).to.not.equal('ALLOWED');
    const parallel = await Promise.all(Array.from({ length: 20 }, (_, i) => login(s.port, `burst-${i}`)));
    expect(parallel.filter((r) => r === 'ALLOWED')).to.have.length(0);
    expect(await login(s.port, PASSWORD)).to.equal('ALLOWED');
    expect(credentials.checks).to.equal(29);
    expect(warns('client login banned')).to.have.length(0);
    expect(warns('client login failed')).to.have.length(28);
  });
});
