/**
 * Buffers given back after use, kept for the next taker of the same size instead of being dropped for
 * the garbage collector. Never blocks: take() makes a new buffer when none is spare. It keeps at most
 * maxBytes, and lets go of all of them after idleMs without a give(), so an idle process holds none.
 *
 * Why: an agent process allocated every SFTP READ buffer and both write batches afresh for each push.
 * With many pushes at once (a fan-out to 1,000 agents held by one process) that garbage kept V8's
 * collector busy on the one thread that also decrypts and writes (docs/benchmarks.md, fan-out).
 *
 * Memory: the list only ever holds buffers that were in use at once before, which a process without it
 * would have held as garbage until a GC, so it adds nothing to the peak; an agent with one push at a
 * time keeps a few MiB at most, and only for idleMs after its last transfer.
 */
export class SpareBuffers {
  private readonly spare = new Map<number, Buffer[]>();
  private kept = 0;
  private timer: NodeJS.Timeout | undefined;
  /** When the last give() was (ms, monotonic): the idle timer checks it instead of being re-armed per give. */
  private lastGive = 0;

  constructor(
    readonly maxBytes: number,
    private readonly idleMs = 10_000,
    /** Makes a new buffer when none is spare (a SharedArrayBuffer's, for a hashing thread). */
    private readonly allocate: (size: number) => Buffer = (size) => Buffer.allocUnsafeSlow(size),
  ) {}

  /** A buffer of exactly size bytes, with unspecified content. */
  take(size: number): Buffer {
    const b = this.spare.get(size)?.pop();
    if (!b) return this.allocate(size);
    this.kept -= size;
    return b;
  }

  /** Gives a buffer from take() back; the caller must not touch it afterwards. */
  give(b: Buffer): void {
    if (this.kept + b.length > this.maxBytes) return;
    const list = this.spare.get(b.length) ?? [];
    list.push(b);
    this.spare.set(b.length, list);
    this.kept += b.length;
    this.lastGive = performance.now();
    // One timer per idle period, not one per give: re-arming a timer on every give was a visible
    // share of a busy agent process's thread (timer list inserts).
    this.timer ??= this.armIdleTimer(this.idleMs);
  }

  private armIdleTimer(ms: number): NodeJS.Timeout {
    return setTimeout(() => {
      this.timer = undefined;
      const idle = performance.now() - this.lastGive;
      if (idle >= this.idleMs) this.clear();
      else if (this.kept > 0) this.timer = this.armIdleTimer(this.idleMs - idle);
    }, ms).unref();
  }

  /** Bytes kept now. */
  get keptBytes(): number {
    return this.kept;
  }

  clear(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.spare.clear();
    this.kept = 0;
  }
}
