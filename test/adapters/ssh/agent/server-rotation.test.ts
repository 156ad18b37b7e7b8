import { expect } from 'chai';
import { ServerRotation } from '../../../../src/adapters/ssh/agent/server-rotation.ts';

describe('ServerRotation: the order of `[client] server`', () => {
  it('starts at the first, moves on at each failure, and after a full round starts from the first again', () => {
    const r = new ServerRotation(['a', 'b', 'c']);
    expect(r.current).to.equal('a');
    expect(r.failed()).to.deep.equal({ from: 'a', to: 'b', roundFailed: false });
    expect(r.failed()).to.deep.equal({ from: 'b', to: 'c', roundFailed: false });
    expect(r.failed()).to.deep.equal({ from: 'c', to: 'a', roundFailed: true });
    expect(r.failed()).to.deep.equal({ from: 'a', to: 'b', roundFailed: false });
  });

  it('is sticky: a server that answered is kept, and the round after its loss begins with the next one', () => {
    const r = new ServerRotation(['a', 'b', 'c']);
    r.failed();
    r.succeeded();
    expect(r.current).to.equal('b');
    // b is lost: c, then a, then b again closes the round (b counts as failed once).
    expect(r.failed()).to.deep.equal({ from: 'b', to: 'c', roundFailed: false });
    expect(r.failed()).to.deep.equal({ from: 'c', to: 'a', roundFailed: false });
    expect(r.failed()).to.deep.equal({ from: 'a', to: 'a', roundFailed: true });
  });

  it('with one server, every failure is a full round (the backoff of a single server, as before)', () => {
    const r = new ServerRotation(['only']);
    expect(r.failed()).to.deep.equal({ from: 'only', to: 'only', roundFailed: true });
    r.succeeded();
    expect(r.failed()).to.deep.equal({ from: 'only', to: 'only', roundFailed: true });
  });

  it('refuses an empty list', () => {
    expect(() => new ServerRotation([])).to.throw(/at least one server/);
  });
});
