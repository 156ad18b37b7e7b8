import { expect } from 'chai';
import { PassThrough } from 'node:stream';
import { openLogger, PinoLogger } from '../../../src/adapters/log/pino-logger.ts';

const JWT = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhZG1pbiJ9.c2lnbmF0dXJl';

describe('PinoLogger (secret redaction)', () => {
  const capture = (): { logger: PinoLogger; lines: () => string[] } => {
    const out = new PassThrough();
    const chunks: string[] = [];
    out.on('data', (c: Buffer) => chunks.push(c.toString()));
    return {
      logger: new PinoLogger({ level: 'debug', destination: out }),
      lines: () => chunks.join('').split('\n').filter(Boolean),
    };
  };

  it('writes JSON lines with the level, message and fields', async () => {
    const { logger, lines } = capture();
    logger.info({ uuid: 'u1', size: 3 }, 'upload accepted');
    await new Promise((r) => setImmediate(r));
    const line = JSON.parse(lines()[0]) as Record<string, unknown>;
    expect(line).to.include({ msg: 'upload accepted', uuid: 'u1', size: 3, level: 'info', name: 'rportd' });
    expect(line.time)
      .to.be.a('string')
      .and.match(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  });

  it('names the program it logs for', async () => {
    const out = new PassThrough();
    const chunks: string[] = [];
    out.on('data', (c: Buffer) => chunks.push(c.toString()));
    new PinoLogger({ level: 'info', name: 'rport', destination: out }).warn({}, 'w');
    await new Promise((r) => setImmediate(r));
    expect(JSON.parse(chunks.join(''))).to.include({ name: 'rport', level: 'warn', msg: 'w' });
  });

  it('masks password, token, authorization and secret fields at any depth, and secrets inside text', async () => {
    const { logger, lines } = capture();
    logger.warn(
      {
        password: 'hunter2',
        user: { api_password: 'hunter3', jwt_secret: 'shh-secret-value' },
        headers: { authorization: `Bearer ${JWT}` },
        url: `/api/v1/ws/uploads?access_token=${JWT}&x=1`,
        note: `header was Basic YWRtaW46aHVudGVyMg==`,
      },
      `login with token ${JWT}`,
    );
    logger.error({ err: new Error(`bad token ${JWT}`) }, 'failed');
    await new Promise((r) => setImmediate(r));
    const text = lines().join('\n');
    for (const secret of ['hunter2', 'hunter3', 'shh-secret-value', JWT, 'YWRtaW46aHVudGVyMg=='])
      expect(text).to.not.include(secret);
    expect(text).to.include('[redacted]').and.include('x=1');
  });

  it('shows the id of a credential (credential_id) and still masks a credential itself', async () => {
    const { logger, lines } = capture();
    logger.info(
      { credential_id: 'agent-cred-7', credential: 'agent-cred-7:hunter4' },
      'client credential removed',
    );
    await new Promise((r) => setImmediate(r));
    const line = JSON.parse(lines()[0]) as Record<string, unknown>;
    expect(line.credential_id).to.equal('agent-cred-7');
    expect(line.credential).to.equal('[redacted]');
    expect(lines().join('\n')).to.not.include('hunter4');
  });

  it('drops lines below the level', async () => {
    const out = new PassThrough();
    const chunks: string[] = [];
    out.on('data', (c: Buffer) => chunks.push(c.toString()));
    const logger = new PinoLogger({ level: 'warn', destination: out });
    logger.info({}, 'quiet');
    logger.warn({}, 'loud');
    await new Promise((r) => setImmediate(r));
    expect(chunks.join('')).to.include('loud').and.not.include('quiet');
  });
});

describe('openLogger ([logging] format)', () => {
  const run = async (format: 'json' | 'pretty'): Promise<string> => {
    const out = new PassThrough();
    const chunks: string[] = [];
    out.on('data', (c: Buffer) => chunks.push(c.toString()));
    const logger = await openLogger('rport', { level: 'debug', format }, out);
    logger.info({ uuid: 'u9', dest: '/etc/x', password: 'hunter5' }, 'file placed');
    logger.debug({}, 'detail');
    await new Promise((r) => setImmediate(r));
    return chunks.join('');
  };

  it('json: one object per line, ISO time and level name', async () => {
    const lines = (await run('json'))
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines.map((l) => l.level)).to.deep.equal(['info', 'debug']);
    expect(lines[0]).to.include({ name: 'rport', uuid: 'u9', dest: '/etc/x', msg: 'file placed' });
    expect(new Date(lines[0].time as string).toISOString()).to.equal(lines[0].time);
  });

  it('pretty: pino-pretty text in this process, secrets still masked', async () => {
    const text = await run('pretty');
    expect(() => JSON.parse(text.split('\n')[0])).to.throw();
    expect(text).to.match(/INFO.*\(rport\): file placed/);
    expect(text)
      .to.match(/uuid: "u9"/)
      .and.match(/DEBUG.*detail/);
    expect(text).to.not.include('hunter5');
  });
});
