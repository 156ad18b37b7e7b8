import { expect } from 'chai';
import { BranchStopped, LockstepTee } from '../../../src/adapters/nats/lockstep-tee.ts';

/** A source that counts its reads and notes when it was released. */
function source(count: number, failAt?: number) {
  const state = { reads: 0, released: false };
  async function* gen(): AsyncGenerator<Uint8Array> {
    try {
      for (let i = 0; i < count; i++) {
        state.reads++;
        if (i === failAt) throw new Error('source broke');
        yield Buffer.from([i]);
      }
    } finally {
      state.released = true;
    }
  }
  return { state, iterable: gen() };
}

const settle = (): Promise<void> => new Promise((r) => setImmediate(r));

async function collect(it: AsyncIterable<Uint8Array>): Promise<number[]> {
  const out: number[] = [];
  for await (const c of it) out.push(c[0]);
  return out;
}

describe('LockstepTee', () => {
  it('gives every branch every chunk in order', async () => {
    const { iterable } = source(5);
    const tee = new LockstepTee(iterable, 2);
    const [x, y] = await Promise.all([collect(tee.branch()), collect(tee.branch())]);
    expect(x).to.deep.equal([0, 1, 2, 3, 4]);
    expect(y).to.deep.equal([0, 1, 2, 3, 4]);
  });

  it('reads the next chunk only once every branch asked for it', async () => {
    const { state, iterable } = source(5);
    const tee = new LockstepTee(iterable, 2);
    const fast = tee.branch()[Symbol.asyncIterator]();
    const slow = tee.branch()[Symbol.asyncIterator]();
    const first = fast.next();
    await settle();
    expect(state.reads).to.equal(0);
    await slow.next();
    expect((await first).value[0]).to.equal(0);
    let second = false;
    void fast.next().then(() => (second = true));
    await settle();
    expect([state.reads, second]).to.deep.equal([1, false]);
    await slow.next();
    await settle();
    expect([state.reads, second]).to.deep.equal([2, true]);
  });

  it('a branch failing stops the other with its error and releases the source', async () => {
    const { state, iterable } = source(10);
    const tee = new LockstepTee(iterable, 2);
    const other = collect(tee.branch()).catch((e: unknown) => e);
    const failing = (async () => {
      for await (const c of tee.branch()) if (c[0] === 2) throw new Error('disk full');
    })().catch((e: unknown) => {
      tee.abort(e);
      return e;
    });
    expect(((await failing) as Error).message).to.equal('disk full');
    // The loop's own return() came first: the other branch learns that one stopped.
    expect(await other).to.be.instanceOf(BranchStopped);
    await settle();
    expect(state.released).to.equal(true);
  });

  it('abort before any read fails every branch with that error', async () => {
    const { iterable } = source(3);
    const tee = new LockstepTee(iterable, 2);
    const cause = Object.assign(new Error('taken'), { code: 'EEXIST' });
    const branch = collect(tee.branch()).catch((e: unknown) => e);
    tee.abort(cause);
    expect(await branch).to.equal(cause);
    expect(tee.failure).to.equal(cause);
  });

  it("the source's failure reaches every branch", async () => {
    const { iterable } = source(5, 3);
    const tee = new LockstepTee(iterable, 2);
    const results = await Promise.all(
      [tee.branch(), tee.branch()].map((b) => collect(b).catch((e: Error) => e.message)),
    );
    expect(results).to.deep.equal(['source broke', 'source broke']);
  });
});
