import { once } from 'node:events';
import { connect, createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';

/**
 * A TCP proxy on 127.0.0.1 to a port known later (set `target` before the first connection). Once
 * armed, it stops reading from the server side after that many more bytes towards the client, for
 * a while, then goes on: a transfer that stalls half-way, as over a slow or congested link.
 */
export class PausingProxy {
  target = 0;
  port = 0;
  private armed: { after: number; ms: number; resumed: () => void } | undefined;
  private readonly sockets = new Set<Socket>();
  private readonly server: Server;

  constructor() {
    this.server = createServer((agentSide) => {
      const serverSide = connect(this.target, '127.0.0.1');
      for (const s of [agentSide, serverSide]) {
        this.sockets.add(s);
        s.on('close', () => this.sockets.delete(s));
      }
      agentSide.on('error', () => serverSide.destroy());
      serverSide.on('error', () => agentSide.destroy());
      agentSide.on('close', () => serverSide.destroy());
      serverSide.on('close', () => agentSide.destroy());
      agentSide.pipe(serverSide);
      serverSide.on('data', (chunk: Buffer) => {
        agentSide.write(chunk);
        const a = this.armed;
        if (!a) return;
        a.after -= chunk.length;
        if (a.after > 0) return;
        this.armed = undefined;
        serverSide.pause();
        setTimeout(() => {
          serverSide.resume();
          a.resumed();
        }, a.ms);
      });
    });
  }

  async listen(): Promise<this> {
    this.server.listen(0, '127.0.0.1');
    await once(this.server, 'listening');
    this.port = (this.server.address() as AddressInfo).port;
    return this;
  }

  /** After `after` more bytes from the server, holds the rest for ms; resolves once it lets them go again. */
  pauseAfter(after: number, ms: number): Promise<void> {
    return new Promise((resolved) => (this.armed = { after, ms, resumed: resolved }));
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise((r) => this.server.close(r));
  }
}
