import { expect } from 'chai';
import { success } from '../../src/domain/outcome.ts';
import type { PushRequest } from '../../src/domain/push-request.ts';
import { ADMIN, client, form, makeServer } from './support/server-fixture.ts';

/** A server whose one client answers `answer` and keeps every request it gets. */
function serverWithClient(answer = success('check: would create /srv/x.txt', true)) {
  const s = makeServer({ clients: [client('c1')] });
  const requests: PushRequest[] = [];
  s.channels.connect('c1', {
    push: async (req) => {
      requests.push(req);
      return { ...answer, ...(req.diff ? { diff: '--- /srv/x.txt\n+++ /srv/x.txt (pushed)\n' } : {}) };
    },
  });
  return { s, requests };
}

describe('check and diff, from the upload form to the stored outcome', () => {
  it('check and diff travel in the push request, the accepted audit entry names them, and the outcome keeps the diff', async () => {
    const { s, requests } = serverWithClient();
    const r = await s.accept.execute(
      ADMIN,
      form(['client_id', 'c1'], ['dest', '/srv/x.txt'], ['check', 'true'], ['diff', '1'], { file: 'hello' }),
    );
    expect(r.ok).to.equal(true);
    if (!r.ok) return;
    await r.distributed;
    expect(requests[0]).to.include({ check: true, diff: true });
    const accepted = s.audit.entries.find((e) => e.action === 'accepted');
    expect(accepted?.request).to.include({ check: true, diff: true });
    const [o] = s.results.outcomes(r.upload.staged.uuid);
    // A check places nothing: no filepath and no size, whatever it would do.
    expect(o).to.include({ status: 'success', changed: true, filepath: '', size: 0 });
    expect(o.diff).to.equal('--- /srv/x.txt\n+++ /srv/x.txt (pushed)\n');
    expect((await s.results.targets(r.upload.staged.uuid))[0].diff).to.equal(o.diff);
  });

  it('an upload without them sends exactly the request it sent before, and audits neither', async () => {
    const { s, requests } = serverWithClient(success('file successfully copied to destination'));
    const r = await s.accept.execute(
      ADMIN,
      form(['client_id', 'c1'], ['dest', '/srv/x.txt'], { file: 'hi' }),
    );
    if (!r.ok) throw new Error('refused');
    await r.distributed;
    expect(requests[0]).to.not.have.any.keys('check', 'diff');
    expect(s.audit.entries.find((e) => e.action === 'accepted')?.request).to.not.have.any.keys(
      'check',
      'diff',
    );
    const [o] = s.results.outcomes(r.upload.staged.uuid);
    expect(o).to.include({ filepath: '/srv/x.txt', size: 2 });
    expect(o).to.not.have.property('diff');
  });
});
