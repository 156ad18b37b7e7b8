import { expect } from 'chai';
import sinon from 'sinon';
import { SpareBuffers } from '../../../src/adapters/system/spare-buffers.ts';

describe('SpareBuffers (buffers kept between transfers)', () => {
  afterEach(() => sinon.restore());

  it('a buffer given back is the one the next take of that size gets', () => {
    const pool = new SpareBuffers(1024);
    const a = pool.take(100);
    pool.give(a);
    expect(pool.keptBytes).to.equal(100);
    expect(pool.take(50), 'another size').to.not.equal(a);
    expect(pool.take(100)).to.equal(a);
    expect(pool.keptBytes).to.equal(0);
    expect(pool.take(100), 'none spare: a new one').to.not.equal(a);
    pool.clear();
  });

  it('keeps at most maxBytes; what does not fit is dropped', () => {
    const pool = new SpareBuffers(250);
    const [a, b, c] = [pool.take(100), pool.take(100), pool.take(100)];
    for (const x of [a, b, c]) pool.give(x);
    expect(pool.keptBytes).to.equal(200);
    const got = new Set([pool.take(100), pool.take(100), pool.take(100)]);
    expect(got.has(a) && got.has(b), 'the two kept').to.equal(true);
    expect(got.has(c), 'the third was dropped').to.equal(false);
    pool.clear();
  });

  it('lets go of every spare idleMs after the last give, and not before', () => {
    const clock = sinon.useFakeTimers();
    const pool = new SpareBuffers(1024, 10_000);
    const [a, b] = [pool.take(64), pool.take(64)];
    pool.give(a);
    clock.tick(6_000);
    pool.give(b);
    clock.tick(9_999);
    expect(pool.keptBytes, 'each give starts the idle time again').to.equal(128);
    clock.tick(1);
    expect(pool.keptBytes).to.equal(0);
    expect(pool.take(64)).to.not.be.oneOf([a, b]);
  });
});
