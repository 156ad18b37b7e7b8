import { expect } from 'chai';
import { LoggedOutcomes } from '../../../src/adapters/log/logged-outcomes.ts';
import { PushLog } from '../../../src/adapters/log/push-log.ts';
import { MemoryLogger } from '../../../src/adapters/memory/memory-logger.ts';
import type { PushOutcome } from '../../../src/domain/outcome.ts';
import type { PushRequest } from '../../../src/domain/push-request.ts';

const outcome = (extra: Partial<PushOutcome> = {}): PushOutcome => ({
  uuid: 'u-1',
  client_id: 'web-1',
  status: 'success',
  message: 'file successfully copied to destination',
  filepath: '/etc/app.conf',
  size: 12,
  changed: true,
  ...extra,
});

describe("rportd's outcome lines (LoggedOutcomes)", () => {
  it('logs each outcome with uuid, client, status and dest, then passes it on unchanged', () => {
    const logger = new MemoryLogger();
    const passed: [PushOutcome, string][] = [];
    const o = outcome();
    new LoggedOutcomes({ publish: (x, by) => passed.push([x, by]) }, logger).publish(o, 'alice');
    expect(passed).to.deep.equal([[o, 'alice']]);
    expect(logger.lines).to.deep.equal([
      {
        level: 'info',
        message: 'push to web-1: success',
        fields: {
          uuid: 'u-1',
          client_id: 'web-1',
          status: 'success',
          dest: '/etc/app.conf',
          size: 12,
          changed: true,
          detail: 'file successfully copied to destination',
        },
      },
    ]);
  });

  it('an error is a warning; changed is logged with every outcome', () => {
    const logger = new MemoryLogger();
    const broadcaster = new LoggedOutcomes({ publish: () => undefined }, logger);
    broadcaster.publish(
      outcome({ status: 'error', message: 'protected', filepath: '', size: 0, changed: false }),
      'admin',
    );
    broadcaster.publish(outcome({ status: 'ignored', changed: false }), 'admin');
    expect(
      logger.lines.map((l) => [l.level, l.fields.status, 'changed' in l.fields, l.fields.changed]),
    ).to.deep.equal([
      ['warn', 'error', true, false],
      ['info', 'ignored', true, false],
    ]);
  });
});

describe("the agent's push lines (PushLog)", () => {
  const req: PushRequest = {
    uuid: 'u-2',
    sourceName: 'u-2_rport_filepush',
    destination: '/srv/app.conf',
    size: 5,
    md5: 'x',
    force: true,
    sync: false,
    ownership: {},
  };

  it('placed, left alone, refused: uuid, dest, status and message; refusals at warn', () => {
    const logger = new MemoryLogger();
    const log = new PushLog(logger);
    log.verdict(req, { status: 'success', message: 'file successfully copied to destination' });
    log.verdict(req, { status: 'ignored', message: 'already in sync' });
    log.verdict(req, { status: 'error', message: 'protected by /etc/*' });
    expect(
      logger.lines.map((l) => [
        l.level,
        l.message,
        l.fields.uuid,
        l.fields.dest,
        l.fields.status,
        l.fields.detail,
      ]),
    ).to.deep.equal([
      [
        'info',
        'placed /srv/app.conf',
        'u-2',
        '/srv/app.conf',
        'success',
        'file successfully copied to destination',
      ],
      ['info', 'left /srv/app.conf as it is', 'u-2', '/srv/app.conf', 'ignored', 'already in sync'],
      [
        'warn',
        'push to /srv/app.conf refused or failed',
        'u-2',
        '/srv/app.conf',
        'error',
        'protected by /etc/*',
      ],
    ]);
  });

  it('a check is one info line "checked", whatever it would do; no line holds a diff', () => {
    const logger = new MemoryLogger();
    const log = new PushLog(logger);
    const diff = '--- /srv/app.conf\n-password = hunter2\n';
    log.verdict(
      { ...req, check: true, diff: true },
      { status: 'success', message: 'check: would replace', diff },
    );
    log.verdict({ ...req, check: true }, { status: 'error', message: 'check: protected' });
    new LoggedOutcomes({ publish: () => undefined }, logger).publish(outcome({ diff }), 'admin');
    expect(logger.lines.slice(0, 2).map((l) => [l.level, l.message, l.fields.check])).to.deep.equal([
      ['info', 'checked /srv/app.conf', true],
      ['info', 'checked /srv/app.conf', true],
    ]);
    expect(JSON.stringify(logger.lines)).to.not.contain('hunter2');
  });

  it('a backup names the file kept; a crash is an error line', () => {
    const logger = new MemoryLogger();
    const log = new PushLog(logger);
    log.backedUp('/srv/app.conf', '/srv/app.conf.2030.bak');
    log.crashed(req, new Error('boom'));
    expect(logger.lines.map((l) => [l.level, l.fields])).to.deep.equal([
      ['info', { dest: '/srv/app.conf', backup: '/srv/app.conf.2030.bak' }],
      ['error', { uuid: 'u-2', dest: '/srv/app.conf', status: 'error', err: 'boom' }],
    ]);
  });
});
