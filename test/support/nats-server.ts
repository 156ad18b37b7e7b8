import { spawn, type ChildProcess } from 'node:child_process';
import { constants } from 'node:fs';
import { access, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';

/** Where Debian's package puts the binary (/usr/sbin, often not on a user's PATH) and the PATH. */
function candidates(): string[] {
  const onPath = (process.env.PATH ?? '').split(delimiter).filter(Boolean);
  return [...onPath, '/usr/sbin', '/usr/local/sbin', '/usr/bin'].map((d) => join(d, 'nats-server'));
}

/** The nats-server binary, or undefined when it is not installed. */
export async function findNatsServer(): Promise<string | undefined> {
  for (const path of candidates()) {
    try {
      await access(path, constants.X_OK);
      return path;
    } catch {
      // not here: try the next place
    }
  }
  return undefined;
}

/**
 * The nats-server binary for `tests`. Under CI=true its absence fails the suite (.ci/run installs it);
 * elsewhere the suite is skipped, loudly.
 */
export async function natsServerOrSkip(ctx: Mocha.Context, tests: string): Promise<string> {
  const bin = await findNatsServer();
  if (bin) return bin;
  if (process.env.CI === 'true')
    throw new Error(`nats-server is required for ${tests} (apt-get install -y nats-server)`);
  console.warn(
    `\n      !!! SKIPPING ${tests}: nats-server is not installed (apt-get install -y nats-server)\n`,
  );
  ctx.skip();
}

/** Servers still running: killed by pid if the test process exits without stopping them. */
const live = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of live) if (child.exitCode === null) child.kill('SIGKILL');
});

/**
 * A private nats-server with JetStream, listening on 127.0.0.1 only, its store in a temp dir. The
 * first start takes a free port (the server's own choice, read from its log, so no other process can
 * take it between a probe and the bind); later starts reuse that port and store, as a restarted
 * server would.
 */
export class NatsServerProcess {
  private child: ChildProcess | undefined;
  private port = -1;

  private constructor(
    private readonly bin: string,
    readonly dir: string,
  ) {}

  static async start(bin: string): Promise<NatsServerProcess> {
    const server = new NatsServerProcess(bin, await mkdtemp(join(tmpdir(), 'rport-nats-')));
    try {
      await server.resume();
    } catch (e) {
      await server.dispose();
      throw e;
    }
    return server;
  }

  get url(): string {
    return `nats://127.0.0.1:${this.port}`;
  }

  get running(): boolean {
    return this.child !== undefined;
  }

  /** Starts the server (again, after stop) and waits until it accepts clients. */
  async resume(): Promise<void> {
    if (this.child) return;
    const args = ['-a', '127.0.0.1', '-p', String(this.port), '-js', '-sd', join(this.dir, 'jetstream')];
    const child = spawn(this.bin, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    this.child = child;
    live.add(child);
    child.once('exit', () => live.delete(child));
    let log = '';
    try {
      this.port = await new Promise<number>((resolve, reject) => {
        let port: number | undefined;
        child.stderr!.on('data', (c: Buffer) => {
          log += c.toString();
          port ??= listeningPort(log);
          if (port !== undefined && log.includes('Server is ready')) resolve(port);
        });
        child.once('error', reject);
        child.once('exit', (code) =>
          reject(new Error(`nats-server exited (${code}) before it was ready:\n${log}`)),
        );
      });
    } catch (e) {
      await this.stop();
      throw e;
    }
    // Keep draining its log so a chatty server never blocks on a full pipe.
    child.stderr!.resume();
  }

  /** Stops the server by its pid (TERM, then KILL if it lingers) and waits for it to exit. */
  async stop(): Promise<void> {
    const child = this.child;
    if (!child) return;
    this.child = undefined;
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    process.kill(child.pid!, 'SIGTERM');
    const lingering = setTimeout(() => child.exitCode === null && process.kill(child.pid!, 'SIGKILL'), 5_000);
    await exited;
    clearTimeout(lingering);
  }

  /** Stops the server and removes its store. */
  async dispose(): Promise<void> {
    await this.stop();
    await rm(this.dir, { recursive: true, force: true });
  }
}

function listeningPort(log: string): number | undefined {
  const m = /Listening for client connections on 127\.0\.0\.1:(\d+)/.exec(log);
  return m ? Number(m[1]) : undefined;
}
