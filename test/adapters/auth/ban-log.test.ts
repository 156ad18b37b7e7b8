import { expect } from 'chai';
import { BanLog, type BanRecord } from '../../../src/adapters/auth/ban-log.ts';
import { MemoryLogger } from '../../../src/adapters/memory/memory-logger.ts';

const T0 = Date.parse('2030-01-01T00:00:00Z');

describe('BanLog (the end of each SSH login ban, at warn)', () => {
  const banned = (log: BanLog, until: number): BanRecord => {
    const r: BanRecord = { until, banUntil: 0, bannedId: '' };
    log.began(r, '203.0.113.7', 'agents');
    return r;
  };

  it('logs the end once, at the sweep after it passes, with address, id and time', () => {
    const logger = new MemoryLogger();
    const log = new BanLog(logger);
    banned(log, T0 + 60_000);
    log.sweep(T0 + 59_000);
    expect(logger.lines).to.have.length(0);
    log.sweep(T0 + 61_000);
    log.sweep(T0 + 70_000);
    expect(logger.lines).to.deep.equal([
      {
        level: 'warn',
        message: 'client login ban expired',
        fields: { address: '203.0.113.7', credential_id: 'agents', expired_at: '2030-01-01T00:01:00.000Z' },
      },
    ]);
  });

  it('a ledger dropped to bound memory while its ban runs: the ban is said to be lifted early', () => {
    const logger = new MemoryLogger();
    const log = new BanLog(logger);
    const r = banned(log, T0 + 60_000);
    log.evicted(r, T0 + 1000, 100_000);
    log.sweep(T0 + 120_000);
    expect(logger.lines.map((l) => [l.level, l.message, l.fields.expires_at])).to.deep.equal([
      [
        'warn',
        'client login ban lifted early: too many addresses and credential ids are tracked',
        '2030-01-01T00:01:00.000Z',
      ],
    ]);
  });

  it('a ledger dropped after its ban ended logs the end, not an early lift; one without a ban logs nothing', () => {
    const logger = new MemoryLogger();
    const log = new BanLog(logger);
    log.evicted({ until: 0, banUntil: 0, bannedId: '' }, T0, 100_000);
    const r = banned(log, T0 + 60_000);
    log.evicted(r, T0 + 60_000, 100_000);
    expect(logger.lines.map((l) => l.message)).to.deep.equal(['client login ban expired']);
  });

  it('a right password (forget) ends the ban without a line', () => {
    const logger = new MemoryLogger();
    const log = new BanLog(logger);
    log.forget(banned(log, T0 + 60_000));
    log.sweep(T0 + 120_000);
    expect(logger.lines).to.have.length(0);
  });
});
