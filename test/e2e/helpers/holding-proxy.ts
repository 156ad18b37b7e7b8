import { once } from 'node:events';
import { connect, createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { wakeOrTimeout } from './eventually.ts';

/**
 * A TCP proxy on 127.0.0.1 to `target`. Once armed, each connection stops passing the server's bytes
 * on after that many more, and holds them for good: a transfer caught half-way, for as long as the
 * test needs (then `cut` closes every connection, as a dead server's kernel would).
 */
export class HoldingProxy {
  port = 0;
  private after: number | undefined;
  private heldCount = 0;
  private readonly waiters = new Set<() => void>();
  private readonly sockets = new Set<Socket>();
  private readonly server: Server;

  constructor(public target: number) {
    this.server = createServer((agentSide) => {
      const serverSide = connect(this.target, '127.0.0.1');
      for (const s of [agentSide, serverSide]) {
        this.sockets.add(s);
        s.on('close', () => this.sockets.delete(s));
        s.on('error', () => undefined);
      }
      agentSide.on('close', () => serverSide.destroy());
      serverSide.on('close', () => agentSide.destroy());
      agentSide.pipe(serverSide);
      let left: number | undefined;
      serverSide.on('data', (chunk: Buffer) => {
        if (left === undefined && this.after !== undefined) left = this.after;
        if (left !== undefined && left <= 0) return; // held: dropped, the connection is dead to the agent
        agentSide.write(chunk);
        if (left === undefined) return;
        left -= chunk.length;
        if (left > 0) return;
        serverSide.pause();
        this.heldCount += 1;
        for (const w of [...this.waiters]) w();
      });
    });
  }

  async listen(): Promise<this> {
    this.server.listen(0, '127.0.0.1');
    await once(this.server, 'listening');
    this.port = (this.server.address() as AddressInfo).port;
    return this;
  }

  /** From now on, each connection is held after `bytes` more from the server. */
  holdAfter(bytes: number): void {
    this.after = bytes;
  }

  /** Resolves once `count` connections are held. */
  async held(count: number, ms: number): Promise<void> {
    const deadline = Date.now() + ms;
    while (this.heldCount < count) {
      const left = deadline - Date.now();
      if (left <= 0)
        throw new Error(`only ${this.heldCount} of ${count} connections were held within ${ms / 1000} s`);
      await wakeOrTimeout(this.waiters, left);
    }
  }

  /** Closes every connection; new ones pass freely (to a target that may be gone). */
  cut(): void {
    this.after = undefined;
    for (const s of this.sockets) s.destroy();
  }

  async close(): Promise<void> {
    this.cut();
    await new Promise((r) => this.server.close(r));
  }
}
