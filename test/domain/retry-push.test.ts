import { expect } from 'chai';
import type { Caller } from '../../src/domain/caller.ts';
import { failure } from '../../src/domain/outcome.ts';
import { stagedName } from '../../src/domain/push-request.ts';
import { ADMIN, form } from './support/server-fixture.ts';
import { makeOfflineServer, PLACED, scripted } from './support/offline-fixture.ts';

type Server = ReturnType<typeof makeOfflineServer>;
const ALICE: Caller = { username: 'alice', admin: false, groups: [] };
const BOB: Caller = { username: 'bob', admin: false, groups: [] };
const HOUR = 3600_000;

/** c1 places the file, c2 refuses it (EPERM), c3 is offline: two targets end in error. */
async function pushWithFailures(s: Server, by: Caller = ADMIN): Promise<string> {
  s.channels.connect(
    'c1',
    scripted(async () => PLACED),
  );
  s.channels.connect(
    'c2',
    scripted(async () => failure('placing /srv/a failed: EPERM')),
  );
  const accepted = await s.accept.execute(
    by.admin ? by : { ...by, admin: true },
    form(['client_id', 'c1'], ['client_id', 'c2'], ['client_id', 'c3'], ['dest', '/srv/a'], {
      file: 'payload',
    }),
  );
  if (!accepted.ok) throw new Error(accepted.rejection.detail);
  await s.clock.run(accepted.distributed);
  return accepted.upload.staged.uuid;
}

describe('RetryPush: pushes again to the targets whose outcome was error', () => {
  let s: Server;
  afterEach(() => s.close());

  it('reopens the error targets one attempt more, audits the retry, and pushes to them only', async () => {
    s = makeOfflineServer({ keepMs: HOUR });
    const uuid = await pushWithFailures(s);
    const c1Pushes = (s.channels.channelFor('c1') as unknown as { pushes: number }).pushes;
    s.channels.connect(
      'c2',
      scripted(async () => PLACED),
    );
    s.channels.connect(
      'c3',
      scripted(async () => PLACED),
    );
    const r = await s.retry.execute(ADMIN, uuid);
    if (!r.ok) throw new Error(r.detail);
    expect(r.targets).to.deep.equal(['c2', 'c3']);
    await s.clock.run(r.distributed);
    expect(s.results.outcomes(uuid).map((o) => [o.client_id, o.status])).to.deep.equal([
      ['c1', 'success'],
      ['c2', 'success'],
      ['c3', 'success'],
    ]);
    expect([1, 2, 2]).to.deep.equal(['c1', 'c2', 'c3'].map((id) => s.results.attempt(uuid, id)));
    expect((s.channels.channelFor('c1') as unknown as { pushes: number }).pushes).to.equal(c1Pushes);
    const retry = s.audit.entries.filter((e) => e.action === 'retry');
    expect(retry.map((e) => [e.username, e.upload_uuid, e.request.targets])).to.deep.equal([
      ['admin', uuid, ['c2', 'c3']],
    ]);
  });

  it('nothing failed: refused, and nothing is audited', async () => {
    s = makeOfflineServer({ keepMs: HOUR });
    s.channels.connect(
      'c1',
      scripted(async () => PLACED),
    );
    const accepted = await s.accept.execute(
      ADMIN,
      form(['client_id', 'c1'], ['dest', '/srv/a'], { file: 'x' }),
    );
    if (!accepted.ok) throw new Error(accepted.rejection.detail);
    await s.clock.run(accepted.distributed);
    const r = await s.retry.execute(ADMIN, accepted.upload.staged.uuid);
    expect(r).to.include({ ok: false, refusal: 'nothing-failed' });
    expect(s.audit.entries.some((e) => e.action === 'retry')).to.equal(false);
  });

  it('the uploader and administrators may retry; another user is refused, an unknown uuid is not found', async () => {
    s = makeOfflineServer({ keepMs: HOUR });
    const uuid = await pushWithFailures(s, ALICE);
    expect(await s.retry.execute(BOB, uuid)).to.include({ ok: false, refusal: 'forbidden' });
    expect(await s.retry.execute(ADMIN, 'no-such-upload')).to.include({ ok: false, refusal: 'not-found' });
    const r = await s.retry.execute(ALICE, uuid);
    expect(r.ok).to.equal(true);
    if (r.ok) await s.clock.run(r.distributed);
  });

  it('the staged file is kept for keep_staged_for after the last push, then a retry answers gone', async () => {
    s = makeOfflineServer({ keepMs: HOUR });
    const uuid = await pushWithFailures(s);
    expect(s.staging.names()).to.deep.equal([stagedName(uuid)]);
    await s.clock.advance(HOUR - 1);
    expect(s.staging.names(), 'still kept').to.deep.equal([stagedName(uuid)]);
    await s.clock.advance(1);
    expect(s.staging.names()).to.deep.equal([]);
    const r = await s.retry.execute(ADMIN, uuid);
    expect(r).to.include({ ok: false, refusal: 'gone' });
    if (!r.ok) expect(r.detail).to.contain('keep_staged_for');
    expect(s.results.outcomes(uuid).filter((o) => o.status === 'error')).to.have.length(2);
  });

  it('a retry restarts the keeping time: the file stays for keep_staged_for after the retry ends', async () => {
    s = makeOfflineServer({ keepMs: HOUR });
    const uuid = await pushWithFailures(s);
    await s.clock.advance(HOUR / 2);
    const r = await s.retry.execute(ADMIN, uuid);
    if (!r.ok) throw new Error(r.detail);
    await s.clock.run(r.distributed);
    await s.clock.advance(HOUR / 2 + 1);
    expect(s.staging.names(), "the first keeping time is over, not the retry's").to.deep.equal([
      stagedName(uuid),
    ]);
    await s.clock.advance(HOUR / 2);
    expect(s.staging.names()).to.deep.equal([]);
  });

  it('keep_staged_for 0: the file goes at the end of the push, as before retries, and a retry is gone', async () => {
    s = makeOfflineServer({ keepMs: 0 });
    const uuid = await pushWithFailures(s);
    expect(s.staging.names()).to.deep.equal([]);
    expect(await s.retry.execute(ADMIN, uuid)).to.include({ ok: false, refusal: 'gone' });
  });

  it("a retry with the upload's offline_ttl queues a target whose client is still away", async () => {
    s = makeOfflineServer({ keepMs: HOUR });
    const accepted = await s.accept.execute(
      ADMIN,
      form(['client_id', 'c3'], ['dest', '/srv/a'], ['offline_ttl', '60'], { file: 'x' }),
    );
    if (!accepted.ok) throw new Error(accepted.rejection.detail);
    const uuid = accepted.upload.staged.uuid;
    await s.clock.run(accepted.distributed);
    await s.drained(uuid);
    expect(s.results.outcomes(uuid)[0].message).to.contain('did not connect within 60 s');
    const r = await s.retry.execute(ADMIN, uuid);
    if (!r.ok) throw new Error(r.detail);
    await s.clock.run(r.distributed);
    expect(s.results.pending(uuid)).to.deep.equal(['c3']);
    await s.connect(
      'c3',
      scripted(async () => PLACED),
    );
    await s.drained(uuid);
    expect(s.results.outcomes(uuid).map((o) => o.status)).to.deep.equal(['success']);
    expect(s.results.attempt(uuid, 'c3')).to.equal(2);
  });
});
