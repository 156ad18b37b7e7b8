interface Pending {
  promise: Promise<IteratorResult<Uint8Array>>;
  resolve(r: IteratorResult<Uint8Array>): void;
  reject(e: unknown): void;
}

function pending(): Pending {
  let resolve!: Pending['resolve'];
  let reject!: Pending['reject'];
  const promise = new Promise<IteratorResult<Uint8Array>>((res, rej) => ((resolve = res), (reject = rej)));
  // A branch that never asks again must not turn a later abort into an unhandled rejection.
  promise.catch(() => undefined);
  return { promise, resolve, reject };
}

/** What the other branches fail with when one stops reading: its own error is the one to report. */
export class BranchStopped extends Error {
  constructor() {
    super('staged files: one copy of the upload stopped reading');
    this.name = 'BranchStopped';
  }
}

/**
 * One source read by several consumers in lockstep: the source's next chunk is read only once every
 * branch has asked for it, so no branch runs ahead and nothing queues (memory is one chunk, whatever
 * the file's size). Either branch failing or stopping aborts the others with its error and releases
 * the source; a source failure reaches every branch.
 */
export class LockstepTee {
  private readonly source: AsyncIterator<Uint8Array>;
  private waiting = 0;
  private next = pending();
  private aborted = false;
  /** The first failure: the source's own, or the one a branch aborted with. */
  failure: unknown;

  constructor(
    source: AsyncIterable<Uint8Array>,
    private readonly count: number,
  ) {
    this.source = source[Symbol.asyncIterator]();
  }

  /** One of the count branches; each is read once. */
  branch(): AsyncIterable<Uint8Array> {
    return { [Symbol.asyncIterator]: () => this.iterator() };
  }

  /** Stops every branch with e (the first call wins) and releases the source. */
  abort(e: unknown): void {
    if (this.aborted) return;
    this.aborted = true;
    this.failure = e;
    this.next.reject(e);
    void this.source.return?.()?.catch(() => undefined);
  }

  private iterator(): AsyncIterator<Uint8Array> {
    return {
      next: () => this.pull(),
      return: async () => {
        this.abort(new BranchStopped());
        return { done: true, value: undefined };
      },
    };
  }

  private pull(): Promise<IteratorResult<Uint8Array>> {
    if (this.aborted) return Promise.reject(this.failure);
    const round = this.next;
    if (++this.waiting === this.count) {
      this.waiting = 0;
      this.next = pending();
      this.source.next().then(round.resolve, (e: unknown) => {
        this.failure ??= e;
        this.aborted = true;
        round.reject(e);
        this.next.reject(e);
      });
    }
    return round.promise;
  }
}
