import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { readdir, readFile, readlink, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type ssh2 from 'ssh2';
import type { SFTPWrapper } from 'ssh2';
import type { PushRequest } from '../../../../src/domain/push-request.ts';
import type { PushOutcome } from '../../../../src/domain/outcome.ts';
import { MAX_HANDLES } from '../../../../src/adapters/ssh/server/confined-sftp.ts';
import { connectRaw, startAgent, startServer, tempDir, type TestAgent, type TestServer } from '../harness.ts';
import { attempt, helloAs, sftpOf, until } from '../rogue.ts';

/** Files this process holds open under dir: the server runs in the test's process. */
async function openFilesUnder(dir: string): Promise<number> {
  let n = 0;
  for (const fd of await readdir('/proc/self/fd')) {
    const target = await readlink(`/proc/self/fd/${fd}`).catch(() => '');
    if (target.startsWith(dir)) n += 1;
  }
  return n;
}

/** Sends count OPENs of path at once (no await between them); resolves with the handles granted. */
async function pipelinedOpens(sftp: SFTPWrapper, path: string, count: number): Promise<Buffer[]> {
  const answers = await Promise.all(
    Array.from(
      { length: count },
      () =>
        new Promise<Buffer | undefined>((resolve) =>
          sftp.open(path, 'r', (e, h) => resolve(e ? undefined : h)),
        ),
    ),
  );
  return answers.filter((h): h is Buffer => h !== undefined);
}

/** Larger than the in-memory limit for staged files, so that each grant is an open file. */
const BIG = 5 * 1024 * 1024;

describe('SSH link: a rogue agent cannot hoard SFTP handles, slots or files (issue 17)', function () {
  this.timeout(30_000);
  let server: TestServer;
  let destDir: string;
  const agents: TestAgent[] = [];
  const raws: ssh2.Client[] = [];

  beforeEach(async () => {
    // Two transfer slots server-wide: a rogue holding more than one per live push would starve the good agent.
    server = await startServer({ settings: { maxTransfers: 2 } });
    destDir = await tempDir('dest');
  });

  afterEach(async () => {
    for (const r of raws.splice(0)) r.destroy();
    await Promise.all(agents.splice(0).map((a) => a.stop()));
    await server.stop();
    await rm(server.dataDir, { recursive: true, force: true });
    await rm(destDir, { recursive: true, force: true });
  });

  async function rogueWithLivePush(
    id: string,
    timeoutMs?: number,
  ): Promise<{
    rogue: ssh2.Client;
    send: (m: object) => void;
    own: string;
    reqId: string;
    done: Promise<PushOutcome[]>;
  }> {
    const rogue = await connectRaw(server.port);
    raws.push(rogue);
    const { control, lines } = await helloAs(rogue, id);
    const done = server.push(randomBytes(BIG), [id], join(destDir, `${id}.bin`), timeoutMs);
    await until(() => lines.some((l) => l.type === 'push'));
    const push = lines.find((l) => l.type === 'push') as { req_id: string; request: PushRequest };
    return {
      rogue,
      send: (m) => control.write(JSON.stringify(m) + '\n'),
      own: `/${push.request.sourceName}`,
      reqId: push.req_id,
      done,
    };
  }

  it('pipelined OPENs and STATs get at most the handle cap, one open file and one slot; a good push goes through meanwhile', async () => {
    agents.push(await startAgent(server, 'good'));
    const { rogue, send, own, reqId, done } = await rogueWithLivePush('rogue');

    const sessions = await Promise.all([sftpOf(rogue), sftpOf(rogue), sftpOf(rogue)]);
    const granted = await Promise.all(sessions.map((s) => pipelinedOpens(s, own, 64)));
    for (const handles of granted) {
      expect(handles.length, 'handles granted to one session').to.be.within(1, MAX_HANDLES);
    }
    expect(await openFilesUnder(server.stagingDir), 'staged files open for the rogue').to.equal(1);

    // Pipelined STATs: answered, without opening the file once per STAT.
    let mostOpen = 0;
    let statting = true;
    const sampling = (async () => {
      while (statting) {
        mostOpen = Math.max(mostOpen, await openFilesUnder(server.stagingDir));
        await new Promise((r) => setImmediate(r));
      }
    })();
    const stats = await Promise.all(
      Array.from({ length: 500 }, (_, i) => attempt((cb) => sessions[i % 3].stat(own, cb))),
    );
    statting = false;
    await sampling;
    expect(stats.every((s) => s === 'ALLOWED')).to.equal(true);
    expect(mostOpen, 'staged files open during the STATs').to.be.at.most(1);

    // The good agent's push needs the other slot: it completes while the rogue still holds its handles.
    const content = randomBytes(300_000);
    const [good] = await server.push(content, ['good'], join(destDir, 'good.bin'), 10_000);
    expect(good.status, good.message).to.equal('success');
    expect((await readFile(join(destDir, 'good.bin'))).equals(content)).to.equal(true);
    const [first] = granted[0];
    expect(
      await attempt((cb) => sessions[0].read(first, Buffer.alloc(16), 0, 16, 0, cb)),
      'the rogue still holds its handle',
    ).to.equal('ALLOWED');

    // Its verdict ends the push: every handle on it dies and the file is closed, without a CLOSE.
    send({ type: 'result', req_id: reqId, status: 'error', message: 'rogue gives up' });
    const [outcome] = await done;
    expect(outcome.status).to.equal('error');
    for (const [i, handles] of granted.entries())
      for (const h of handles)
        expect(await attempt((cb) => sessions[i].read(h, Buffer.alloc(16), 0, 16, 0, cb))).to.not.equal(
          'ALLOWED',
        );
    await until(async () => (await openFilesUnder(server.stagingDir)) === 0);
  });

  it('a push that times out, or a connection that ends, lets go of the file and slot', async () => {
    const timedOut = await rogueWithLivePush('slow', 300);
    const sftp = await sftpOf(timedOut.rogue);
    const handles = await pipelinedOpens(sftp, timedOut.own, 16);
    expect(handles).to.have.length(MAX_HANDLES);
    const [outcome] = await timedOut.done;
    expect(outcome.status).to.equal('error');
    expect(await attempt((cb) => sftp.read(handles[0], Buffer.alloc(16), 0, 16, 0, cb))).to.not.equal(
      'ALLOWED',
    );
    expect(await openFilesUnder(server.stagingDir)).to.equal(0);

    const gone = await rogueWithLivePush('gone');
    const sftp2 = await sftpOf(gone.rogue);
    expect(await pipelinedOpens(sftp2, gone.own, 16)).to.have.length(MAX_HANDLES);
    expect(await openFilesUnder(server.stagingDir)).to.equal(1);
    gone.rogue.destroy();
    expect((await gone.done)[0].status).to.equal('error');
    await until(async () => (await openFilesUnder(server.stagingDir)) === 0);

    // Both slots are free again: two good pushes at once succeed.
    agents.push(await startAgent(server, 'after'));
    const outcomes = await Promise.all([
      server.push(randomBytes(BIG), ['after'], join(destDir, 'a1.bin'), 10_000),
      server.push(randomBytes(BIG), ['after'], join(destDir, 'a2.bin'), 10_000),
    ]);
    expect(outcomes.flat().map((o) => o.status)).to.deep.equal(['success', 'success']);
  });
});
