import { expect } from 'chai';
import { DEFAULT_AUTH_GUARD } from '../../../src/adapters/auth/auth-guard.ts';
import type { PenaltySettings } from '../../../src/adapters/auth/penalty-rules.ts';
import {
  CHECKS_WHILE_CLEAN,
  KNOWN_WRONG_MS,
  LoginPenalties,
  type Refusal,
} from '../../../src/adapters/auth/login-penalties.ts';
import { addressPenaltyMs, credentialPenaltyMs, rulesOf } from '../../../src/adapters/auth/penalty-rules.ts';
import { quietLogger } from '../ssh/fakes.ts';

const GOOD = 'right-password';
const ADDR = '203.0.113.7';

/** LoginPenalties on a fake clock, with a credential store that counts its checks. */
function setup(settings: Partial<PenaltySettings> = {}) {
  let t = 1_000_000;
  const logger = quietLogger();
  const p = new LoginPenalties({ ...DEFAULT_AUTH_GUARD, ...settings }, logger, () => t);
  const state = { checks: 0, wrongChecks: 0 };
  /** One login attempt, the way AgentLogin makes it: 'ALLOWED' or the refusal. */
  const login = async (id: string, password: string, address = ADDR): Promise<'ALLOWED' | Refusal> => {
    const a = await p.attempt(address, id, password, () => true);
    if ('refused' in a) return a.refused;
    state.checks += 1;
    if (password !== GOOD) state.wrongChecks += 1;
    return a.check(password === GOOD) ?? 'ALLOWED';
  };
  return {
    p,
    logger,
    state,
    login,
    advance: (ms: number) => (t += ms),
    now: () => t,
    warns: (message: string) =>
      logger.lines.filter((l) => l.level === 'warn' && l.message.startsWith(message)),
  };
}

describe('penalty rules (OpenSSH PerSourcePenalties-like, per address and per address + credential id)', () => {
  const r = rulesOf(DEFAULT_AUTH_GUARD); // max_failed_login 5, ban_time 600 s, first step 1 s
  const s = (ms: number) => ms / 1000;

  it('guessing one credential id: 1, 2, 4, 8 s, then ban_time from the fifth different wrong password on', () => {
    expect([1, 2, 3, 4, 5, 6].map((k) => s(credentialPenaltyMs(r, k, k)))).to.deep.equal([
      1, 2, 4, 8, 600, 600,
    ]);
  });

  it('one wrong password repeated: the same growth, but the ban it earns is only the short cap (30 s)', () => {
    expect([1, 2, 3, 4, 5].map((k) => s(credentialPenaltyMs(r, k, 1)))).to.deep.equal([1, 2, 4, 8, 30]);
  });

  it('the address as a whole: doubles to 30 s at most while fewer than max_failed_login credential ids failed', () => {
    expect([1, 4, 5, 6, 20].map((k) => s(addressPenaltyMs(r, k, 4)))).to.deep.equal([1, 8, 16, 30, 30]);
  });

  it('the address as a whole, once max_failed_login credential ids failed (id spraying): grows on to ban_time', () => {
    expect([5, 6, 7, 10, 40].map((k) => s(addressPenaltyMs(r, k, 5)))).to.deep.equal([16, 32, 64, 512, 600]);
  });

  it('never longer than ban_time, even when ban_time is short', () => {
    const short = rulesOf({ ...DEFAULT_AUTH_GUARD, banMs: 5_000 });
    expect(credentialPenaltyMs(short, 4, 1)).to.equal(5_000);
    expect(credentialPenaltyMs(short, 9, 1)).to.equal(5_000);
    expect(addressPenaltyMs(short, 9, 1)).to.equal(5_000);
  });
});

describe('LoginPenalties', () => {
  it('a penalty is checked before the password: attempts inside it are refused with no check', async () => {
    const { login, state, advance } = setup();
    expect(await login('agents', 'guess-1')).to.include({ counted: true, retryAfterMs: 1000 });
    for (const pw of ['guess-2', GOOD]) expect(await login('agents', pw)).to.include({ counted: false });
    expect(state.checks).to.equal(1);
    advance(1000);
    expect(await login('agents', GOOD)).to.equal('ALLOWED');
    expect(state.checks).to.equal(2);
  });

  it('different wrong passwords for one credential id: banned for ban_time at max_failed_login, logged at warn with address and id', async () => {
    const { login, state, advance, warns, now } = setup();
    for (let i = 1; i <= 5; i++) {
      const r = (await login('agents', `guess-${i}`)) as Refusal;
      expect(r).to.include({ counted: true, banned: i === 5 });
      if (i < 5) advance(r.retryAfterMs);
    }
    expect(warns('client login banned').map((l) => l.fields)).to.deep.equal([
      {
        address: ADDR,
        credential_id: 'agents',
        ban_s: 600,
        expires_at: new Date(now() + 600_000).toISOString(),
        failures: 5,
        passwords_tried: 5,
      },
    ]);
    advance(599_000);
    expect(await login('agents', GOOD)).to.include({ counted: false });
    expect(warns('client login ban expired')).to.have.length(0);
    advance(1000);
    expect(await login('agents', GOOD)).to.equal('ALLOWED');
    expect(warns('client login ban expired').map((l) => l.fields)).to.deep.equal([
      { address: ADDR, credential_id: 'agents', expired_at: new Date(now()).toISOString() },
    ]);
    expect(state.checks).to.equal(6);
  });

  it("a ban's end is logged when anyone next connects, not only the banned address", async () => {
    const { p, login, advance, warns, now } = setup({ maxFailures: 2, banMs: 60_000 });
    for (const pw of ['guess-1', 'guess-2']) advance(((await login('agents', pw)) as Refusal).retryAfterMs);
    expect(warns('client login banned')).to.have.length.greaterThan(0);
    const ends = warns('client login banned').map((l) => l.fields.expires_at as string);
    advance(60_000);
    expect(p.isPenalised('198.51.100.9')).to.equal(false); // another host's connection
    const expired = warns('client login ban expired').map((l) => l.fields);
    expect(expired.map((f) => f.address)).to.include(ADDR);
    expect(
      expired.every((f) => ends.includes(f.expired_at as string) && f.credential_id === 'agents'),
    ).to.equal(true);
    expect(Date.parse(expired[0].expired_at as string)).to.be.at.most(now());
  });

  it('one wrong password sent again is refused without a check, counts until it has earned one short ban, then is only refused', async () => {
    const { login, state, advance, warns } = setup();
    let waited = 0;
    for (let i = 0; i < 12; i++) {
      const r = (await login('agents', 'stale-password')) as Refusal;
      waited = r.retryAfterMs;
      advance(Math.max(waited, 10));
    }
    expect(state.checks).to.equal(1);
    expect(warns('client login failed')).to.have.length(5);
    expect(warns('client login banned').map((l) => l.fields.ban_s)).to.deep.equal([30]);
    expect(waited).to.equal(0);
    // After KNOWN_WRONG_MS it is checked again (a credential may have changed), and still counts no more.
    advance(KNOWN_WRONG_MS);
    expect(await login('agents', 'stale-password')).to.include({ counted: false });
    expect(state.checks).to.equal(2);
  });

  it('a good agent behind the same address as a misconfigured one with the same credential id gets in within 60 s', async () => {
    // Worst case for the good agent: the misconfigured host retries every 100 ms, for ten minutes.
    const { login, state, advance, now } = setup();
    const start = now();
    let inAt = -1;
    let longestRefusal = 0;
    let refusedSince = -1;
    for (let tick = 0; tick < 6000; tick++) {
      await login('agents', 'stale-password');
      if (tick % 10 === 5) {
        const r = await login('agents', GOOD);
        if (r === 'ALLOWED') {
          if (inAt < 0) inAt = now() - start;
          if (refusedSince >= 0) longestRefusal = Math.max(longestRefusal, now() - refusedSince);
          refusedSince = -1;
        } else if (refusedSince < 0) refusedSince = now();
      }
      advance(100);
    }
    expect(inAt).to.be.within(0, 60_000);
    // 1 + 2 + 4 + 8 s of short penalties, then one 30 s ban: 45 s in a row at worst.
    expect(longestRefusal).to.be.at.most(45_000);
    expect(state.wrongChecks).to.be.at.most(11); // the wrong password: once, then once a minute
  });

  it('another credential id on the penalised address waits at most the short address penalty', async () => {
    const { login, advance } = setup();
    for (let i = 1; i <= 5; i++) {
      const r = (await login('agents', `guess-${i}`)) as Refusal;
      if (i < 5) advance(r.retryAfterMs);
    }
    advance(20_000);
    expect(await login('agents', GOOD)).to.include({ counted: false }); // this id is banned for 10 min
    const r = (await login('client-7', 'wrong')) as Refusal;
    expect(r.retryAfterMs).to.equal(30_000);
    advance(r.retryAfterMs);
    expect(await login('client-7', GOOD)).to.equal('ALLOWED');
    expect(await login('agents', GOOD)).to.include({ counted: false });
  });

  it('with a larger max_failed_login, one repeated wrong password still holds the others off for 31 s at most', async () => {
    const { login, advance, state } = setup({ maxFailures: 20 });
    let total = 0;
    for (let i = 0; i < 30; i++) {
      const r = (await login('agents', 'stale-password')) as Refusal;
      total += r.retryAfterMs;
      advance(Math.max(r.retryAfterMs, 1));
    }
    expect(total).to.equal(31_000);
    expect(await login('agents', GOOD)).to.equal('ALLOWED');
    expect(state.checks).to.equal(2);
  });

  it('spraying credential ids from one address bans the address, not only each id', async () => {
    const { login, advance, warns, now } = setup();
    let r: Refusal | undefined;
    for (let i = 1; i <= 5; i++) {
      r = (await login(`id-${i}`, 'guess')) as Refusal;
      advance(r.retryAfterMs);
    }
    expect(r).to.include({ banned: true });
    expect(warns('client login banned: every credential id').map((l) => l.fields)).to.deep.equal([
      // advanced past the ban already: it ends now
      {
        address: ADDR,
        credential_id: 'id-5',
        ban_s: 16,
        expires_at: new Date(now()).toISOString(),
        credential_ids: 5,
      },
    ]);
    r = (await login('id-6', 'guess')) as Refusal;
    expect(r.retryAfterMs).to.equal(32_000);
  });

  it('penalties are per address: another address is not held back', async () => {
    const { login } = setup();
    await login('agents', 'guess');
    expect(await login('agents', GOOD, '198.51.100.1')).to.equal('ALLOWED');
    // IPv4 on a dual-stack socket is the same source
    expect(await login('agents', GOOD, `::ffff:${ADDR}`)).to.include({ counted: false });
  });

  it('an address in an exempt range is never penalised, and its failures are still logged', async () => {
    const { login, state, warns, p } = setup({ exempt: ['203.0.113.0/24', 'fd00::/8'] });
    for (let i = 0; i < 50; i++)
      expect(await login('agents', `guess-${i}`)).to.include({ banned: false, retryAfterMs: 0 });
    expect(await login('agents', GOOD)).to.equal('ALLOWED');
    expect(state.checks).to.equal(51);
    expect(p.isPenalised(ADDR)).to.equal(false);
    expect(warns('client login banned')).to.have.length(0);
    expect(warns('client login failed')).to.have.length(50);
    // outside the range: penalised as usual
    await login('agents', 'guess', '203.0.114.1');
    expect(p.isPenalised('203.0.114.1')).to.equal(true);
  });

  it('a success clears its credential id here but keeps its wrong passwords known and the address count', async () => {
    const { login, advance, state } = setup();
    advance(((await login('agents', 'stale')) as Refusal).retryAfterMs);
    expect(await login('agents', GOOD)).to.equal('ALLOWED');
    const r = (await login('agents', 'stale')) as Refusal; // known: no check
    expect(state.checks).to.equal(2);
    expect(r.retryAfterMs).to.equal(2000); // the address remembers its first failure
  });

  it(`bursts: at most ${CHECKS_WHILE_CLEAN} checks of a clean address at once, one at a time after a failure, the rest refused when they fail`, async () => {
    const { p } = setup();
    const pending: Promise<unknown>[] = [];
    const checks: ((ok: boolean) => Refusal | undefined)[] = [];
    const refused: Refusal[] = [];
    for (let i = 0; i < 50; i++)
      pending.push(
        p
          .attempt(ADDR, 'agents', `guess-${i}`, () => true)
          .then((a) => {
            if ('check' in a) checks.push(a.check);
            else refused.push(a.refused);
          }),
      );
    await new Promise((resolve) => setImmediate(resolve));
    expect(checks).to.have.length(CHECKS_WHILE_CLEAN);
    expect(p.waiting(ADDR)).to.equal(50 - CHECKS_WHILE_CLEAN);
    for (const check of checks) check(false);
    await Promise.all(pending);
    expect(checks).to.have.length(CHECKS_WHILE_CLEAN);
    expect(refused).to.have.length(50 - CHECKS_WHILE_CLEAN);
    expect(refused.every((r) => !r.counted && r.retryAfterMs > 0)).to.equal(true);
  });

  it('a check that could not be made (credentials unavailable) is not held against the password', async () => {
    const { p } = setup();
    const a = await p.attempt(ADDR, 'agents', GOOD, () => true);
    expect('check' in a && a.check(undefined)).to.include({ counted: false });
    const b = await p.attempt(ADDR, 'agents', GOOD, () => true);
    expect('check' in b && b.check(true)).to.equal(undefined);
  });
});
