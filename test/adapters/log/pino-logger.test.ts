import { expect } from 'chai';
import { PassThrough } from 'node:stream';
import { PinoLogger } from '../../../src/adapters/log/pino-logger.ts';

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
    expect(line).to.include({ msg: 'upload accepted', uuid: 'u1', size: 3, level: 30 });
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
