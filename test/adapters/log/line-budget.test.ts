import { expect } from 'chai';
import { LineBudget } from '../../../src/adapters/log/line-budget.ts';

describe('LineBudget (one log line per key and window)', () => {
  it('lets the first line of each key through, holds the rest of the window back, and counts them', () => {
    let t = 0;
    const b = new LineBudget(10_000, () => t);
    expect(b.take('a')).to.deep.equal({ suppressed: 0 });
    expect(b.take('b')).to.deep.equal({ suppressed: 0 });
    expect([b.take('a'), b.take('a')]).to.deep.equal([undefined, undefined]);
    t = 10_000;
    expect(b.take('a')).to.deep.equal({ suppressed: 2 });
    expect(b.take('a')).to.equal(undefined);
  });

  it('keeps at most maxKeys keys: the oldest is forgotten and starts afresh', () => {
    const b = new LineBudget(10_000, () => 0, 2);
    b.take('a');
    b.take('b');
    b.take('c');
    expect(b.take('a')).to.deep.equal({ suppressed: 0 });
    expect(b.take('c')).to.equal(undefined);
  });
});
