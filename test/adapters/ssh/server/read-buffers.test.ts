import { expect } from 'chai';
import { ReadBuffers } from '../../../../src/adapters/ssh/server/read-buffers.ts';

describe('ReadBuffers (the server-wide pool of SFTP READ buffers)', () => {
  it('lends at most count buffers; the next taker waits until one is given back, and gets that very buffer', async () => {
    const pool = new ReadBuffers(2, 1024);
    const a = await pool.take();
    const b = await pool.take();
    expect([a.length, b.length, pool.inUse]).to.deep.equal([1024, 1024, 2]);
    let third: Buffer | undefined;
    const waiting = pool.take().then((c) => (third = c));
    await new Promise((r) => setImmediate(r));
    expect(third, 'no third buffer while two are lent').to.equal(undefined);
    pool.give(a);
    await waiting;
    expect(third).to.equal(a);
    pool.give(b);
    pool.give(third!);
    expect(pool.inUse).to.equal(0);
  });
});
