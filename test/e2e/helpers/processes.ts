import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { wakeOrTimeout } from './eventually.ts';

export const ROOT = join(import.meta.dirname, '../../..');
export const BIN = {
  rportd: join(ROOT, 'bin/rportd.js'),
  rport: join(ROOT, 'bin/rport.js'),
  rportcli: join(ROOT, 'bin/rportcli.js'),
};

/** The bins run compiled JS; these tests never build (npm test does), they say what is missing. */
export function requireBuilt(): void {
  for (const entry of ['composition/rportd/main', 'bundle/rport', 'composition/rportcli/main']) {
    const file = join(ROOT, 'dist', `${entry}.js`);
    if (!existsSync(file))
      throw new Error(`${file} is missing: run \`npm run build\` first (npm test builds before testing)`);
  }
}

/** A free TCP port on 127.0.0.1 (for configs that must keep a port across restarts): the demo's. */
export { freePort } from '../../../src/composition/demo/processes.ts';

/** Every child still running, so a failed test or a crashed run never leaves one behind. */
const live = new Set<ChildProcess>();
process.once('exit', () => {
  for (const c of live) if (c.pid !== undefined) process.kill(c.pid, 'SIGKILL');
});

/** One of our programs as a child process: output kept, waits on log lines, stopped by pid. */
export class Proc {
  readonly child: ChildProcess;
  readonly exited: Promise<number | null>;
  private out = '';
  private readonly waiters = new Set<() => void>();

  constructor(
    readonly label: string,
    bin: string,
    args: string[],
    opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {},
  ) {
    this.child = spawn(process.execPath, [bin, ...args], {
      cwd: opts.cwd,
      env: opts.env ?? process.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    live.add(this.child);
    this.exited = new Promise((resolve) =>
      this.child.once('exit', (code) => {
        live.delete(this.child);
        this.wake();
        resolve(code);
      }),
    );
    const take = (chunk: Buffer): void => {
      this.out += chunk.toString();
      this.wake();
    };
    this.child.stdout!.on('data', take);
    this.child.stderr!.on('data', take);
  }

  get pid(): number {
    return this.child.pid!;
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** stdout and stderr so far, interleaved as they came. */
  output(): string {
    return this.out;
  }

  /** The first match of re in the output (from offset on); fails if the program exits first or ms pass. */
  async waitFor(re: RegExp, ms: number, from = 0): Promise<RegExpMatchArray> {
    const deadline = Date.now() + ms;
    for (;;) {
      const m = this.out.slice(from).match(re);
      if (m) return m;
      if (!this.running)
        throw new Error(
          `${this.label} exited (${this.child.exitCode ?? this.child.signalCode}) before printing ${re}; output:\n${this.tail()}`,
        );
      const left = deadline - Date.now();
      if (left <= 0)
        throw new Error(`${this.label} did not print ${re} within ${ms / 1000} s; output:\n${this.tail()}`);
      await wakeOrTimeout(this.waiters, left);
    }
  }

  /** kill -9 by pid, and wait until it is gone. */
  async kill9(): Promise<void> {
    if (this.running) process.kill(this.pid, 'SIGKILL');
    await this.exited;
  }

  /** SIGTERM by pid, SIGKILL after 5 s; resolves with the exit code (null when killed by a signal). */
  async stop(): Promise<number | null> {
    if (!this.running) return this.exited;
    process.kill(this.pid, 'SIGTERM');
    const t = setTimeout(() => this.running && process.kill(this.pid, 'SIGKILL'), 5000);
    const code = await this.exited;
    clearTimeout(t);
    return code;
  }

  /** The last lines of output, for failure messages. */
  tail(lines = 40): string {
    return this.out.split('\n').slice(-lines).join('\n');
  }

  private wake(): void {
    for (const w of [...this.waiters]) w();
  }
}

/** Runs a program to its end: exit code, stdout and stderr apart. */
export function runToEnd(
  bin: string,
  args: string[],
  env: NodeJS.ProcessEnv,
  ms = 60_000,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [bin, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    live.add(child);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const t = setTimeout(() => {
      process.kill(child.pid!, 'SIGKILL');
      reject(
        new Error(
          `${bin} ${args.join(' ')} did not finish within ${ms / 1000} s; stdout:\n${stdout}\nstderr:\n${stderr}`,
        ),
      );
    }, ms);
    // 'close', not 'exit': by then stdout and stderr are read to their end.
    child.once('close', (code) => {
      clearTimeout(t);
      live.delete(child);
      resolve({ code, stdout, stderr });
    });
  });
}
