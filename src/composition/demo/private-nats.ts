/**
 * A private nats-server with JetStream for the cluster demo: 127.0.0.1 only, its store in a folder
 * of the caller's, stopped by its pid.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { constants } from 'node:fs';
import { access } from 'node:fs/promises';
import { delimiter, join } from 'node:path';

/** The binary of a system program (Debian puts servers in /usr/sbin, often not on a user's PATH). */
export async function findSystemBinary(name: string): Promise<string | undefined> {
  const onPath = (process.env.PATH ?? '').split(delimiter).filter(Boolean);
  for (const d of [...onPath, '/usr/sbin', '/usr/local/sbin', '/usr/bin']) {
    try {
      await access(join(d, name), constants.X_OK);
      return join(d, name);
    } catch {
      // not here: try the next place
    }
  }
  return undefined;
}

export class PrivateNats {
  private log = '';

  private constructor(
    private readonly child: ChildProcess,
    readonly port: number,
  ) {}

  get url(): string {
    return `nats://127.0.0.1:${this.port}`;
  }

  get pid(): number {
    return this.child.pid!;
  }

  static async start(bin: string, port: number, storeDir: string): Promise<PrivateNats> {
    const args = ['-a', '127.0.0.1', '-p', String(port), '-js', '-sd', storeDir];
    const child = spawn(bin, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    const nats = new PrivateNats(child, port);
    try {
      await new Promise<void>((resolve, reject) => {
        child.stderr!.on('data', (c: Buffer) => {
          nats.log = (nats.log + c.toString()).slice(-20_000);
          if (nats.log.includes('Server is ready')) resolve();
        });
        child.once('error', reject);
        child.once('exit', (code) => reject(new Error(`nats-server exited (${code}):\n${nats.log}`)));
      });
    } catch (e) {
      await nats.stop();
      throw e;
    }
    return nats;
  }

  /** SIGTERM by pid, then SIGKILL if it lingers; resolves once it exited. */
  async stop(): Promise<void> {
    const c = this.child;
    if (c.exitCode !== null || c.signalCode !== null || c.pid === undefined) return;
    const gone = new Promise<void>((resolve) => c.once('exit', () => resolve()));
    process.kill(c.pid, 'SIGTERM');
    const timer = setTimeout(() => c.exitCode === null && process.kill(c.pid!, 'SIGKILL'), 5000);
    await gone;
    clearTimeout(timer);
  }
}
