import { expect } from 'chai';
import { EventEmitter } from 'node:events';
import type { Connection } from 'ssh2';
import { CredentialSessions } from '../../../../src/adapters/ssh/server/credential-sessions.ts';
import { quietLogger } from '../fakes.ts';

/** Enough of an ssh2 server connection: end() closes it, as a peer that answers the FIN would. */
class FakeConnection extends EventEmitter {
  ended = false;
  end(): void {
    this.ended = true;
    this.emit('close');
  }
}
const asConnection = (c: FakeConnection): Connection => c as unknown as Connection;

describe('CredentialSessions (connections by client credential, and removals)', () => {
  it('removing a credential ends only the connections logged in with it, and logs how many', () => {
    const logger = quietLogger();
    const sessions = new CredentialSessions(logger);
    const [a1, a2, b] = [new FakeConnection(), new FakeConnection(), new FakeConnection()];
    sessions.loggedIn('agents', asConnection(a1));
    sessions.loggedIn('agents', asConnection(a2));
    sessions.loggedIn('other', asConnection(b));
    expect(sessions.endSessionsOf('agents')).to.equal(2);
    expect([a1.ended, a2.ended, b.ended]).to.deep.equal([true, true, false]);
    expect(logger.lines.map((l) => l.fields)).to.deep.equal([{ credential_id: 'agents', connections: 2 }]);
    expect(sessions.endSessionsOf('agents'), 'the ended connections were forgotten').to.equal(0);
  });

  it('a connection that closed by itself is not ended again', () => {
    const sessions = new CredentialSessions(quietLogger());
    const c = new FakeConnection();
    sessions.loggedIn('agents', asConnection(c));
    c.emit('close');
    expect(sessions.endSessionsOf('agents')).to.equal(0);
    expect(c.ended).to.equal(false);
  });

  it('removedSince: only a removal of that credential after the mark counts', () => {
    const sessions = new CredentialSessions(quietLogger());
    sessions.endSessionsOf('agents');
    const mark = sessions.mark();
    expect(sessions.removedSince('agents', mark), 'removed before the check began').to.equal(false);
    sessions.endSessionsOf('other');
    expect(sessions.removedSince('agents', mark), 'another credential removed').to.equal(false);
    sessions.endSessionsOf('agents');
    expect(sessions.removedSince('agents', mark)).to.equal(true);
  });
});
