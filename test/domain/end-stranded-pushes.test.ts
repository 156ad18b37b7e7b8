import { expect } from 'chai';
import { EndStrandedPushes, RESTARTED_MESSAGE } from '../../src/domain/end-stranded-pushes.ts';
import { chunks, makeServer } from './support/server-fixture.ts';

const U1 = '00000000-0000-4000-8000-000000000001';
const U2 = '00000000-0000-4000-8000-000000000002';
const U3 = '00000000-0000-4000-8000-000000000003';

/** A server "after a restart": uploads begun and staged by the previous run, some targets answered. */
async function leftByPreviousRun() {
  const s = makeServer();
  for (const uuid of [U1, U2, U3]) await s.staging.stage(uuid, chunks('content'), 1024);
  await s.results.begin(U1, ['c1', 'c2'], 'alice');
  await s.results.begin(U2, ['c3'], 'bob');
  await s.results.begin(U3, ['c4']);
  await s.report.execute(
    {
      client_id: 'c1',
      uuid: U1,
      status: 'success',
      message: 'placed',
      filepath: '/srv/x',
      size: 7,
      changed: true,
    },
    'alice',
  );
  s.audit.entries.length = 0;
  s.broadcaster.published.length = 0;
  return { s, end: new EndStrandedPushes(s.results, s.staging, s.report) };
}

describe('EndStrandedPushes', () => {
  it('each target left pending ends with error and the restart message: stored, broadcast and audited under the uploader', async () => {
    const { s, end } = await leftByPreviousRun();
    const ended = await end.execute();
    expect(ended).to.deep.equal({ uploads: [U1, U2, U3], targets: 3 });
    const expected = (uuid: string, client_id: string) => ({
      client_id,
      uuid,
      status: 'error',
      message: RESTARTED_MESSAGE,
      filepath: '',
      size: 0,
      changed: false,
    });
    expect(s.results.outcomes(U1)).to.deep.equal([
      {
        client_id: 'c1',
        uuid: U1,
        status: 'success',
        message: 'placed',
        filepath: '/srv/x',
        size: 7,
        changed: true,
      },
      expected(U1, 'c2'),
    ]);
    expect(s.results.outcomes(U2)).to.deep.equal([expected(U2, 'c3')]);
    expect(await s.results.pendingTargets()).to.deep.equal([]);
    expect(s.broadcaster.published).to.deep.equal([
      expected(U1, 'c2'),
      expected(U2, 'c3'),
      expected(U3, 'c4'),
    ]);
    expect(s.audit.entries.map((e) => [e.action, e.username, e.client_id, e.upload_uuid])).to.deep.equal([
      ['error', 'alice', 'c2', U1],
      ['error', 'bob', 'c3', U2],
      // The store could not tell who made this upload: the entry still says who acted.
      ['error', 'rportd', 'c4', U3],
    ]);
    expect(s.audit.entries[0].request).to.deep.equal({
      filepath: '',
      size: 0,
      message: RESTARTED_MESSAGE,
      changed: false,
    });
  });

  it('removes the staged files of the ended uploads, and of those only', async () => {
    const { s, end } = await leftByPreviousRun();
    const U4 = '00000000-0000-4000-8000-000000000004';
    await s.staging.stage(U4, chunks('unrelated'), 1024);
    await end.execute();
    expect(s.staging.names()).to.deep.equal([`${U4}_rport_filepush`]);
  });

  it('a second run finds nothing left to end, and an outcome never replaces a final one', async () => {
    const { s, end } = await leftByPreviousRun();
    await end.execute();
    const audited = s.audit.entries.length;
    expect(await end.execute()).to.deep.equal({ uploads: [], targets: 0 });
    expect(s.audit.entries).to.have.length(audited);
    expect(s.results.outcomes(U1)[0].status).to.equal('success');
  });
});
