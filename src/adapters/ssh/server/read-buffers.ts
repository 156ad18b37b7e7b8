/**
 * Server side: a fixed pool of READ buffers shared by every SFTP session. It bounds the file bytes the
 * server holds at once across all transfers (not per transfer), and reuses the buffers instead of
 * allocating one per READ, which kept the garbage collector busy in a fan-out to many agents.
 * A buffer may go back as soon as ssh2's `sftp.data()` returns: ssh2 copies the data into its packet.
 */
export class ReadBuffers {
  private readonly free: Buffer[] = [];
  private readonly waiting: ((b: Buffer) => void)[] = [];
  private created = 0;

  constructor(
    readonly count: number,
    readonly size: number,
  ) {}

  /** A buffer of `size` bytes once one is free (oldest waiter first); made on first need, so an idle server holds none. */
  take(): Promise<Buffer> {
    const b = this.free.pop();
    if (b) return Promise.resolve(b);
    if (this.created < this.count) {
      this.created += 1;
      return Promise.resolve(Buffer.allocUnsafeSlow(this.size));
    }
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  give(b: Buffer): void {
    const next = this.waiting.shift();
    if (next) next(b);
    else this.free.push(b);
  }

  /** Buffers lent out now. */
  get inUse(): number {
    return this.created - this.free.length;
  }
}
