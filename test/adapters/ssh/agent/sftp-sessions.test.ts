import { expect } from 'chai';
import { EventEmitter } from 'node:events';
import type { SFTPWrapper } from 'ssh2';
import { SftpSessions, TRANSFERS_PER_SESSION } from '../../../../src/adapters/ssh/agent/sftp-sessions.ts';

/** Stands in for ssh2's SFTPWrapper: what SftpSessions uses of it is 'close' and end(). */
class FakeSession extends EventEmitter {
  ended = false;
  end(): void {
    this.ended = true;
    this.emit('close');
  }
}

function opener(): { open: () => Promise<SFTPWrapper>; opened: FakeSession[]; failNext: boolean } {
  const o = {
    opened: [] as FakeSession[],
    failNext: false,
    open: (): Promise<SFTPWrapper> => {
      if (o.failNext) {
        o.failNext = false;
        return Promise.reject(new Error('channel open failed'));
      }
      const s = new FakeSession();
      o.opened.push(s);
      return Promise.resolve(s as unknown as SFTPWrapper);
    },
  };
  return o;
}

describe('SftpSessions: SFTP sessions kept open across pushes', () => {
  it('pushes one after another use the one session, which stays open after each', async () => {
    const o = opener();
    const sessions = new SftpSessions(o.open);
    for (let i = 0; i < 3; i++) {
      const lease = await sessions.lease();
      expect(lease.sftp).to.equal(o.opened[0]);
      lease.release();
    }
    expect(o.opened).to.have.length(1);
    expect(o.opened[0].ended).to.equal(false);
  });

  it(`more than ${TRANSFERS_PER_SESSION} at once open a second session, closed once idle while the first stays`, async () => {
    const o = opener();
    const sessions = new SftpSessions(o.open);
    const leases = await Promise.all(
      Array.from({ length: TRANSFERS_PER_SESSION + 1 }, () => sessions.lease()),
    );
    expect(o.opened).to.have.length(2);
    expect(leases.filter((l) => (l.sftp as unknown) === o.opened[0])).to.have.length(TRANSFERS_PER_SESSION);
    leases[TRANSFERS_PER_SESSION].release();
    expect(o.opened[1].ended, 'the idle extra session').to.equal(true);
    for (const l of leases.slice(0, TRANSFERS_PER_SESSION)) l.release();
    expect(o.opened[0].ended, 'the last session stays open').to.equal(false);
    expect(sessions.count).to.equal(1);
  });

  it('a released lease released again changes nothing', async () => {
    const o = opener();
    const sessions = new SftpSessions(o.open);
    const a = await sessions.lease();
    a.release();
    a.release();
    const [b, c, d, e] = await Promise.all([
      sessions.lease(),
      sessions.lease(),
      sessions.lease(),
      sessions.lease(),
    ]);
    expect(new Set([b, c, d, e].map((l) => l.sftp)).size, 'four fit in the one session').to.equal(1);
  });

  it('a session that closes (server end, lost connection) is forgotten: the next lease opens a new one', async () => {
    const o = opener();
    const sessions = new SftpSessions(o.open);
    const a = await sessions.lease();
    o.opened[0].emit('close');
    a.release();
    const b = await sessions.lease();
    expect(b.sftp).to.equal(o.opened[1]);
  });

  it('a session that fails to open fails its lease, and the next lease tries again', async () => {
    const o = opener();
    const sessions = new SftpSessions(o.open);
    o.failNext = true;
    let error: Error | undefined;
    await sessions.lease().catch((e: Error) => (error = e));
    expect(error?.message).to.equal('channel open failed');
    expect(sessions.count).to.equal(0);
    const b = await sessions.lease();
    expect(b.sftp).to.equal(o.opened[0]);
  });
});
