import { expect } from 'chai';
import type { PushOutcome } from '../../src/domain/outcome.ts';
import { makeServer } from './support/server-fixture.ts';

const outcome = (client_id: string, status: PushOutcome['status'] = 'success'): PushOutcome => ({
  client_id,
  uuid: 'u-1',
  filepath: status === 'success' ? '/srv/x' : '',
  size: status === 'success' ? 3 : 0,
  message: `${status} message`,
  status,
  changed: status === 'success',
});

describe('ReportResult', () => {
  it('an outcome is recorded, broadcast to listeners, and written to the audit log', async () => {
    const s = makeServer();
    await s.results.begin('u-1', ['c1']);
    const heard: PushOutcome[] = [];
    s.broadcaster.subscribe((o) => heard.push(o));
    await s.report.execute(outcome('c1'), 'admin');
    expect(s.results.outcomes('u-1')).to.deep.equal([outcome('c1')]);
    expect(heard).to.deep.equal([outcome('c1')]);
    expect(s.audit.entries).to.have.length(1);
    expect(s.audit.entries[0]).to.deep.include({
      action: 'success',
      username: 'admin',
      client_id: 'c1',
      upload_uuid: 'u-1',
      application: 'uploads',
    });
    expect(s.audit.entries[0].request).to.deep.equal({
      filepath: '/srv/x',
      size: 3,
      message: 'success message',
      changed: true,
    });
  });

  it('each client is reported once: a second outcome for the same client is neither broadcast nor audited', async () => {
    const s = makeServer();
    await s.results.begin('u-1', ['c1', 'c2']);
    await s.report.execute(outcome('c1', 'error'), 'admin');
    await s.report.execute(outcome('c1', 'success'), 'admin');
    await s.report.execute(outcome('c2', 'ignored'), 'admin');
    expect(s.results.outcomes('u-1').map((o) => [o.client_id, o.status])).to.deep.equal([
      ['c1', 'error'],
      ['c2', 'ignored'],
    ]);
    expect(s.broadcaster.published.map((o) => o.client_id)).to.deep.equal(['c1', 'c2']);
    expect(s.audit.entries.map((e) => e.action)).to.deep.equal(['error', 'ignored']);
    expect(s.results.pending('u-1')).to.deep.equal([]);
  });

  it('a listener only hears outcomes after it subscribed, and nothing after it unsubscribed', async () => {
    const s = makeServer();
    await s.results.begin('u-1', ['a', 'b', 'c']);
    await s.report.execute(outcome('a'), 'admin');
    const heard: string[] = [];
    const off = s.broadcaster.subscribe((o) => heard.push(o.client_id));
    await s.report.execute(outcome('b'), 'admin');
    off();
    await s.report.execute(outcome('c'), 'admin');
    expect(heard).to.deep.equal(['b']);
  });
});

describe('ReportResult: the backup an outcome names (issue 20 item 6)', () => {
  it('is stored, broadcast and audited with the outcome; absent stays absent', async () => {
    const s = makeServer();
    await s.results.begin('u-1', ['c1', 'c2']);
    const kept = { ...outcome('c1'), backup: '/srv/x.20261204T193000Z.bak' };
    await s.report.execute(kept, 'admin');
    await s.report.execute(outcome('c2'), 'admin');
    const [stored, plain] = await s.results.targets('u-1');
    expect(stored.backup).to.equal('/srv/x.20261204T193000Z.bak');
    expect(plain).not.to.have.property('backup');
    expect(s.broadcaster.published[0].backup).to.equal('/srv/x.20261204T193000Z.bak');
    expect(s.audit.entries[0].request).to.include({ backup: '/srv/x.20261204T193000Z.bak' });
    expect(s.audit.entries[1].request).not.to.have.property('backup');
  });
});
