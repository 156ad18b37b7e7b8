import { expect } from 'chai';
import { randomBytes, randomUUID } from 'node:crypto';
import { readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import ssh2, { type ClientChannel } from 'ssh2';
import { stagedName, type PushRequest } from '../../../../src/domain/push-request.ts';
import { CONTROL_SUBSYSTEM, MAX_READ, PROTOCOL_VERSION } from '../../../../src/adapters/ssh/protocol.ts';
import {
  connectRaw,
  PASSWORD,
  startAgent,
  startServer,
  tempDir,
  type TestAgent,
  type TestServer,
} from '../harness.ts';
import { attempt, helloAs, sftpOf, until } from '../rogue.ts';

/** Resolves with 'refused' or 'ALLOWED' for a channel/request. */
const channelAttempt = (op: (cb: (err?: Error | null) => void) => void): Promise<string> =>
  new Promise((resolve) => {
    const t = setTimeout(() => resolve('refused (no answer)'), 3000);
    op((err) => (clearTimeout(t), resolve(err ? 'refused' : 'ALLOWED')));
  });

describe('SSH link: confinement and abuse', function () {
  this.timeout(30_000);
  let server: TestServer;
  const agents: TestAgent[] = [];
  const raws: ssh2.Client[] = [];
  let destDir: string;

  beforeEach(async () => {
    server = await startServer({ settings: { auth: { maxFailures: 3, banMs: 60_000, failureDelayMs: 10 } } });
    destDir = await tempDir('dest');
  });

  afterEach(async () => {
    for (const r of raws.splice(0)) r.destroy();
    await Promise.all(agents.splice(0).map((a) => a.stop()));
    await server.stop();
    await rm(server.dataDir, { recursive: true, force: true });
    await rm(destDir, { recursive: true, force: true });
  });

  it('a rogue agent with valid credentials fails every forbidden SFTP operation and channel, while honest agents keep working', async () => {
    agents.push(await startAgent(server, 'honest'));
    const rogue = await connectRaw(server.port);
    raws.push(rogue);
    const { control, lines } = await helloAs(rogue, 'rogue');

    // Another client's live push, staged on the server.
    const otherUuid = randomUUID();
    await writeFile(join(server.stagingDir, stagedName(otherUuid)), 'secret of honest');
    server.transfers.grant('honest', stagedName(otherUuid));

    // A push to the rogue itself, live while it probes.
    const pushDone = server.push(randomBytes(4096), ['rogue'], join(destDir, 'rogue.bin'));
    await until(() => lines.some((l) => l.type === 'push'));
    const push = lines.find((l) => l.type === 'push') as { req_id: string; request: PushRequest };
    const own = `/${push.request.sourceName}`;
    const sftp = await sftpOf(rogue);
    (sftp as unknown as { _maxReadLen: number })._maxReadLen = 4 * MAX_READ;

    const results: Record<string, string> = {
      'OPEN another client push': await attempt((cb) => sftp.open(`/${stagedName(otherUuid)}`, 'r', cb)),
      'OPEN ../ escape': await attempt((cb) => sftp.open(`/../${push.request.sourceName}`, 'r', cb)),
      'OPEN /etc/passwd': await attempt((cb) => sftp.open('/etc/passwd', 'r', cb)),
      'OPEN own push for write': await attempt((cb) => sftp.open(own, 'r+', cb)),
      'OPEN create flags': await attempt((cb) => sftp.open('/new_rport_filepush', 'w', cb)),
      'OPEN append': await attempt((cb) => sftp.open(own, 'a', cb)),
      OPENDIR: await attempt((cb) => sftp.opendir('/', cb)),
      SETSTAT: await attempt((cb) => sftp.setstat(own, { mode: 0o777 }, cb)),
      REMOVE: await attempt((cb) => sftp.unlink(own, cb)),
      RENAME: await attempt((cb) => sftp.rename(own, '/x', cb)),
      SYMLINK: await attempt((cb) => sftp.symlink('/etc/passwd', '/link_rport_filepush', cb)),
      MKDIR: await attempt((cb) => sftp.mkdir('/d', cb)),
      'STAT another file': await attempt((cb) => sftp.stat('/etc/passwd', cb)),
      'REALPATH another file': await attempt((cb) => sftp.realpath('/etc', cb)),
      'READ forged handle': await attempt((cb) => sftp.read(randomBytes(16), Buffer.alloc(10), 0, 10, 0, cb)),
    };
    for (const [what, outcome] of Object.entries(results)) expect(outcome, what).to.not.equal('ALLOWED');

    // The one thing allowed: its own live file, read-only, with a bounded READ size.
    const handle = await new Promise<Buffer>((resolve, reject) =>
      sftp.open(own, 'r', (e, h) => (e ? reject(e) : resolve(h))),
    );
    expect(await attempt((cb) => sftp.fstat(handle, cb))).to.equal('ALLOWED');
    expect(await attempt((cb) => sftp.read(handle, Buffer.alloc(10), 0, 10, 0, cb))).to.equal('ALLOWED');
    expect(
      await attempt((cb) => sftp.read(handle, Buffer.alloc(MAX_READ + 1), 0, MAX_READ + 1, 0, cb)),
      'huge READ',
    ).to.not.equal('ALLOWED');
    expect(await attempt((cb) => sftp.write(handle, Buffer.from('x'), 0, 1, 0, cb)), 'WRITE').to.not.equal(
      'ALLOWED',
    );
    expect(await attempt((cb) => sftp.close(handle, cb))).to.equal('ALLOWED');

    // Forbidden channels and requests.
    const channels: Record<string, string> = {
      exec: await channelAttempt((cb) => rogue.exec('id', cb)),
      shell: await channelAttempt((cb) => rogue.shell(cb)),
      pty: await channelAttempt((cb) => rogue.shell({ term: 'xterm' }, cb)),
      x11: await channelAttempt((cb) => rogue.exec('id', { x11: true }, cb)),
      env: await channelAttempt((cb) => rogue.exec('id', { env: { A: 'b' } }, cb)),
      'direct-tcpip': await channelAttempt((cb) =>
        rogue.forwardOut('127.0.0.1', 1, '127.0.0.1', server.port, cb),
      ),
      'tcpip-forward': await channelAttempt((cb) => rogue.forwardIn('127.0.0.1', 0, cb)),
      'unknown subsystem': await channelAttempt((cb) => rogue.subsys('nope', cb)),
      'empty subsystem': await channelAttempt((cb) => rogue.subsys('', cb)),
      'second control channel': await channelAttempt((cb) => rogue.subsys(CONTROL_SUBSYSTEM, cb)),
    };
    for (const [what, outcome] of Object.entries(channels)) expect(outcome, what).to.not.equal('ALLOWED');

    // The rogue answers its push; afterwards its file is no longer live.
    control.write(
      JSON.stringify({ type: 'result', req_id: push.req_id, status: 'error', message: 'rogue gives up' }) +
        '\n',
    );
    const [outcome] = await pushDone;
    expect(outcome.status).to.equal('error');
    expect(await readdir(server.stagingDir)).to.deep.equal([stagedName(otherUuid)]);
    expect(await attempt((cb) => sftp.open(own, 'r', cb)), 'OPEN after the push ended').to.not.equal(
      'ALLOWED',
    );

    // A flood of channels: the server cuts the rogue off and stays up.
    const flood = await Promise.all(
      Array.from({ length: 100 }, () => channelAttempt((cb) => rogue.exec('id', cb))),
    );
    expect(flood.every((r) => r !== 'ALLOWED')).to.equal(true);

    // The honest agent is served throughout.
    const content = randomBytes(300_000);
    const [h] = await server.push(content, ['honest'], join(destDir, 'honest.bin'));
    expect(h.status, h.message).to.equal('success');
    expect((await readFile(join(destDir, 'honest.bin'))).equals(content)).to.equal(true);
  });

  it('a wrong password is refused, and repeated failures get the address banned', async () => {
    const failures: string[] = [];
    for (let i = 0; i < 3; i++)
      failures.push(
        await connectRaw(server.port, 'wrong').then(
          () => 'ALLOWED',
          (e: Error) => e.message,
        ),
      );
    expect(failures.every((f) => f !== 'ALLOWED')).to.equal(true);
    expect(failures[0]).to.match(/authentication methods failed/);
    // Banned now: even the right password does not get through from this address.
    const banned = await connectRaw(server.port, PASSWORD).then(
      (c) => (raws.push(c), 'ALLOWED'),
      (e: Error) => e.message,
    );
    expect(banned).to.not.equal('ALLOWED');
    expect(
      server.logger.lines.some(
        (l) => l.message === 'client login failed' && !JSON.stringify(l.fields).includes('wrong'),
      ),
    ).to.equal(true);
  });

  it('a hello with a bad field is refused with an error naming the field, and the server stays up', async () => {
    const c = await connectRaw(server.port);
    raws.push(c);
    const control = await new Promise<ClientChannel>((resolve, reject) =>
      c.subsys(CONTROL_SUBSYSTEM, (e, ch) => (e ? reject(e) : resolve(ch))),
    );
    let text = '';
    control.on('data', (d: Buffer) => (text += d.toString()));
    control.write(
      JSON.stringify({ type: 'hello', protocol: PROTOCOL_VERSION, id: 'bad id with spaces' }) + '\n',
    );
    await until(() => text.split('\n').length > 2); // the challenge, then the answer
    const answer = JSON.parse(text.split('\n')[1]) as Record<string, unknown>;
    expect(answer).to.deep.include({ type: 'error' });
    expect(answer.message).to.include('hello.id');
    agents.push(await startAgent(server, 'after-bad-hello'));
    expect(server.presence.clients.has('after-bad-hello')).to.equal(true);
    expect(await readdir(server.stagingDir)).to.deep.equal([]);
  });
});
