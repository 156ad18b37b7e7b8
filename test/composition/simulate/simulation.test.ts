import { expect } from 'chai';
import { runSimulation, type SimulationReport } from '../../../src/composition/simulate/container.ts';
import { SeededRandom } from '../../../src/composition/simulate/prng.ts';

const fingerprint = (r: SimulationReport) =>
  r.rows.map((x) => [x.clientId, x.fault, x.previous, x.status, x.message, x.destination]);

describe('simulation: one server, 200 agents, faults from a seed', function () {
  this.timeout(60_000);
  let first: SimulationReport;

  before(async () => {
    first = await runSimulation({ agents: 200, seed: 42 });
  });

  it('faults of every kind were injected (disconnect, EPERM on chown, corrupted bytes, slow links, offline, silent)', () => {
    const faults = new Set(first.rows.map((r) => r.fault));
    for (const f of [
      'disconnect',
      'eperm-chown',
      'corrupt',
      'slow',
      'offline',
      'silent',
      'validator-fails',
      'none',
    ])
      expect(faults, f).to.include(f);
    expect(first.counts.success).to.be.greaterThan(0);
    expect(first.counts.ignored).to.be.greaterThan(0);
    expect(first.counts.error).to.be.greaterThan(0);
  });

  it('every agent ends with exactly one final outcome: recorded, broadcast and audited once', () => {
    expect(first.rows).to.have.length(200);
    for (const r of first.rows) {
      expect(r.status, r.clientId).to.be.oneOf(['success', 'ignored', 'error']);
      expect([r.recorded, r.broadcast, r.audited], r.clientId).to.deep.equal([1, 1, 1]);
    }
  });

  it('no destination is ever half-written: each holds the exact new bytes or its previous content', () => {
    for (const r of first.rows) {
      expect(r.destination, r.clientId).to.be.oneOf(['new', 'previous', 'absent']);
      if (r.previous !== 'absent')
        expect(r.destination, `${r.clientId} lost its file`).not.to.equal('absent');
      if (r.status === 'success') expect(r.destination, r.clientId).to.equal('new');
    }
    expect(first.violations).to.deep.equal([]);
  });

  it('failed pushes leave the previous content in place', () => {
    const failedWithOld = first.rows.filter((r) => r.status === 'error' && r.previous === 'old');
    expect(failedWithOld.length).to.be.greaterThan(0);
    for (const r of failedWithOld) expect(r.destination, r.clientId).to.equal('previous');
  });

  it('each fault gives the error a sysadmin would expect', () => {
    const msg = (fault: string) =>
      first.rows.filter((r) => r.fault === fault && r.status === 'error').map((r) => r.message);
    for (const m of msg('offline')) expect(m).to.contain('not connected');
    for (const m of msg('silent')) expect(m).to.contain('did not answer within');
    for (const m of msg('corrupt')) expect(m).to.contain('md5 checksum mismatch');
    for (const m of msg('eperm-chown')) expect(m).to.contain('/usr/bin/chown');
    for (const m of msg('disconnect')) expect(m).to.match(/was lost during the push|ECONNRESET/);
    expect(first.rows.filter((r) => r.fault === 'silent').every((r) => r.status === 'error')).to.equal(true);
  });

  it('a validator that fails never lets its file be placed; every replaced file is kept as the backup the outcome names', () => {
    const refusing = first.rows.filter((r) => r.fault === 'validator-fails');
    expect(refusing.length).to.be.greaterThan(0);
    for (const r of refusing) {
      expect(r.status, r.clientId).not.to.equal('success');
      if (r.status === 'error') {
        expect(r.message).to.contain(
          'validator "config-check" ([file-reception.validators] config-check) refused',
        );
        expect(r.destination, r.clientId).to.equal(r.previous === 'absent' ? 'absent' : 'previous');
      }
    }
    const replaced = first.rows.filter((r) => r.status === 'success' && r.previous === 'old');
    expect(replaced.length).to.be.greaterThan(0);
    for (const r of replaced) {
      expect(r.backup, r.clientId).to.match(/^\/srv\/app\/config\.bin\.\d{8}T\d{6}Z\.bak$/);
      expect(r.backupHoldsPrevious, r.clientId).to.equal(true);
    }
    for (const r of first.rows.filter((x) => !replaced.includes(x)))
      expect(r.backup, r.clientId).to.equal(undefined);
  });

  it('no temp or staged file is left behind, and no live transfer grant', () => {
    for (const r of first.rows) expect(r.tempFilesLeft, r.clientId).to.equal(0);
    expect(first.stagedLeft).to.equal(0);
    expect(first.liveTransfersLeft).to.equal(0);
  });

  it('the same seed gives the same outcomes', async () => {
    const again = await runSimulation({ agents: 200, seed: 42 });
    expect(fingerprint(again)).to.deep.equal(fingerprint(first));
  });

  it('a different seed gives a different fault pattern', async () => {
    const other = await runSimulation({ agents: 200, seed: 43 });
    expect(other.rows.map((r) => r.fault)).not.to.deep.equal(first.rows.map((r) => r.fault));
    expect(other.violations).to.deep.equal([]);
  });

  it('a tight concurrency and timeout still ends every push, with no hang', async () => {
    const tight = await runSimulation({
      agents: 60,
      seed: 7,
      dispatch: { concurrency: 2, timeoutMs: 2_000 },
    });
    expect(tight.rows.every((r) => r.recorded === 1)).to.equal(true);
    expect(tight.violations).to.deep.equal([]);
  });
});

describe('simulation PRNG', () => {
  it('the same seed draws the same sequence; another seed another one', () => {
    const draw = (seed: number) => {
      const r = new SeededRandom(seed);
      return [r.next(), r.int(1, 6), r.weighted({ a: 1, b: 1 }), ...r.bytes(4)];
    };
    expect(draw(5)).to.deep.equal(draw(5));
    expect(draw(5)).not.to.deep.equal(draw(6));
  });

  it('draws stay in range', () => {
    const r = new SeededRandom(1);
    for (let i = 0; i < 1000; i++) {
      const x = r.next();
      expect(x >= 0 && x < 1).to.equal(true);
      const n = r.int(3, 5);
      expect(n >= 3 && n <= 5).to.equal(true);
    }
  });
});

describe('simulation with an offline_ttl: offline and dropped agents come back and are served', function () {
  this.timeout(60_000);
  let run: SimulationReport;

  before(async () => {
    run = await runSimulation({ agents: 200, seed: 42, offlineTtl: 600 });
  });

  it('the offline and dropped agents were queued, and came back at seeded times, some after their time', () => {
    const away = run.rows.filter((r) => r.cameBackAfter !== undefined);
    expect(away.map((r) => r.fault)).to.include.members(['offline', 'disconnect']);
    for (const r of away) expect(r.fault, r.clientId).to.be.oneOf(['offline', 'disconnect']);
    expect(run.queue.queued).to.equal(away.length);
    expect(run.queue.served).to.be.greaterThan(0);
    expect(run.queue.expired).to.be.greaterThan(0);
    expect(run.queue.served + run.queue.expired).to.equal(run.queue.queued);
  });

  it('an agent back within offline_ttl got the file; one back later ended with "did not connect within"', () => {
    for (const r of run.rows.filter((x) => x.cameBackAfter !== undefined)) {
      if (r.cameBackAfter! < 600) {
        expect(r.status, r.clientId).to.be.oneOf(['success', 'ignored']);
        expect(r.destination, r.clientId).to.equal('new');
      } else {
        expect([r.status, r.message], r.clientId).to.deep.equal([
          'error',
          `client ${r.clientId} did not connect within 600 s (offline_ttl); the file was not pushed to it`,
        ]);
      }
    }
  });

  it('still exactly one outcome per agent, no half-written destination, no staged or temp file left', () => {
    for (const r of run.rows)
      expect([r.recorded, r.broadcast, r.audited], r.clientId).to.deep.equal([1, 1, 1]);
    expect(run.violations).to.deep.equal([]);
    expect(run.stagedLeft).to.equal(0);
    expect(run.liveTransfersLeft).to.equal(0);
  });

  it('the same seed gives the same run, comebacks included', async () => {
    const again = await runSimulation({ agents: 200, seed: 42, offlineTtl: 600 });
    const print = (r: SimulationReport) =>
      r.rows.map((x) => [x.clientId, x.status, x.message, x.cameBackAfter]);
    expect(print(again)).to.deep.equal(print(run));
  });
});
