import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';

export const BIN_DIR = fileURLToPath(new URL('../../../bin/', import.meta.url));

/** A free TCP port on 127.0.0.1 (asked of the kernel, then released). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

/** A program of ours running as a child process, with its output kept for the demo's log. */
export class Program {
  readonly child: ChildProcess;
  private output = '';
  private readonly waiters: { re: RegExp; resolve: (m: RegExpMatchArray) => void }[] = [];

  constructor(
    readonly label: string,
    bin: string,
    args: string[],
    onLine: (label: string, line: string) => void = () => undefined,
    cwd?: string,
  ) {
    this.child = spawn(process.execPath, [BIN_DIR + bin, ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
      cwd,
    });
    const take = (chunk: Buffer): void => {
      const text = chunk.toString();
      this.output += text;
      for (const line of text.split('\n').filter((l) => l.trim() !== '')) onLine(label, line);
      for (const w of [...this.waiters]) {
        const m = this.output.match(w.re);
        if (m) {
          this.waiters.splice(this.waiters.indexOf(w), 1);
          w.resolve(m);
        }
      }
    };
    this.child.stdout?.on('data', take);
    this.child.stderr?.on('data', take);
  }

  /** Resolves with the first match of re in the program's output; rejects if it exits or the time passes. */
  waitFor(re: RegExp, ms: number): Promise<RegExpMatchArray> {
    const seen = this.output.match(re);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`${this.label}: no ${re} within ${ms / 1000} s; output:\n${this.output}`)),
        ms,
      );
      const onExit = (code: number | null): void =>
        reject(new Error(`${this.label} exited (${code}) before ${re}; output:\n${this.output}`));
      this.child.once('exit', onExit);
      this.waiters.push({
        re,
        resolve: (m) => {
          clearTimeout(timer);
          this.child.off('exit', onExit);
          resolve(m);
        },
      });
    });
  }

  /** Everything it printed so far. */
  get printed(): string {
    return this.output;
  }

  /** SIGKILL by pid, as a crash would end it; resolves once it is gone. */
  async kill9(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const gone = new Promise<void>((r) => this.child.once('exit', () => r()));
    process.kill(this.child.pid!, 'SIGKILL');
    await gone;
  }

  /** SIGTERM, then SIGKILL if it has not gone within 5 s. */
  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const gone = new Promise<void>((r) => this.child.once('exit', () => r()));
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 5000);
    await gone;
    clearTimeout(timer);
  }
}
