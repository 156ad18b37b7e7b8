import { fork, spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const TSX = import.meta.resolve('tsx');
const TAIL = 8192;

/** Tells the benchmark runner (our parent, when there is one) about a pid it must kill if we fail. */
function announce(pid: number | undefined): void {
  if (pid && process.send) process.send({ type: 'pid', pid });
}

interface Pending {
  resolve: (v: unknown) => void;
  reject: (e: Error) => void;
}

/** A forked TypeScript child speaking the tiny RPC of bench/lib/role.ts. */
export class Role {
  readonly pid: number;
  /** Settles with the child's ready message. */
  readonly ready: Promise<Record<string, unknown>>;
  private readonly pending = new Map<number, Pending>();
  private readonly listeners = new Map<string, ((m: Record<string, unknown>) => void)[]>();
  private nextId = 1;
  private output = '';
  private exited: string | undefined;

  constructor(
    readonly name: string,
    readonly child: ChildProcess,
    echo: boolean,
  ) {
    this.pid = child.pid!;
    const keep = (chunk: Buffer): void => {
      if (echo) process.stderr.write(chunk);
      this.output = (this.output + chunk.toString()).slice(-TAIL);
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    this.ready = new Promise((resolve, reject) => {
      this.on('ready', resolve);
      child.once('exit', () => reject(this.failure()));
    });
    this.ready.catch(() => undefined);
    child.on('message', (m: Record<string, unknown>) => {
      if (m.type === 'reply') {
        const p = this.pending.get(m.id as number);
        this.pending.delete(m.id as number);
        if (m.error) p?.reject(new Error(`${this.name}: ${String(m.error)}`));
        else p?.resolve(m.result);
      } else {
        for (const l of this.listeners.get(String(m.type)) ?? []) l(m);
      }
    });
    child.once('exit', (code, signal) => {
      this.exited = `${this.name} (pid ${this.pid}) exited with ${signal ?? code}`;
      for (const p of this.pending.values()) p.reject(this.failure());
      this.pending.clear();
    });
  }

  on(type: string, listener: (m: Record<string, unknown>) => void): void {
    this.listeners.set(type, [...(this.listeners.get(type) ?? []), listener]);
  }

  /** Calls a handler in the child; rejects when it throws or the child dies. */
  call<T>(cmd: string, args: Record<string, unknown> = {}): Promise<T> {
    if (this.exited) return Promise.reject(this.failure());
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.child.send({ type: 'call', id, cmd, args });
    });
  }

  /** The last lines the child printed, for error messages. */
  get tail(): string {
    return this.output.trim().split('\n').slice(-15).join('\n');
  }

  private failure(): Error {
    return new Error(
      `${this.exited ?? `${this.name} (pid ${this.pid}) failed`}${this.tail ? `; its last output:\n${this.tail}` : ''}`,
    );
  }
}

/**
 * Every process a benchmark starts, so that all of them can be killed by pid on exit or failure.
 * Children get their own process group (detached), so a kill reaches what they start as well.
 */
export class Children {
  private readonly all = new Set<ChildProcess>();

  /** Forks a TypeScript module (run through tsx) with IPC. */
  fork(
    name: string,
    module: URL,
    args: string[] = [],
    opts: { env?: NodeJS.ProcessEnv; nodeArgs?: string[]; echo?: boolean } = {},
  ): Role {
    const child = fork(fileURLToPath(module), args, {
      execArgv: ['--import', TSX, ...(opts.nodeArgs ?? [])],
      env: { ...process.env, ...opts.env },
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      detached: true,
    });
    this.track(child);
    return new Role(name, child, opts.echo ?? false);
  }

  /** Spawns a plain command. */
  spawn(command: string, args: string[], opts: SpawnOptions = {}): ChildProcess {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], ...opts, detached: true });
    this.track(child);
    return child;
  }

  private track(child: ChildProcess): void {
    this.all.add(child);
    announce(child.pid);
    child.once('exit', () => this.all.delete(child));
  }

  /** Kills one child's process group and waits for it to exit. */
  async kill(child: ChildProcess | Role, graceMs = 3000): Promise<void> {
    const c = child instanceof Role ? child.child : child;
    if (c.exitCode !== null || c.signalCode !== null || !c.pid) return;
    const gone = new Promise<void>((resolve) => c.once('exit', () => resolve()));
    killGroup(c.pid, 'SIGTERM');
    const timer = setTimeout(() => killGroup(c.pid!, 'SIGKILL'), graceMs);
    await gone;
    clearTimeout(timer);
    killGroup(c.pid, 'SIGKILL');
  }

  async killAll(): Promise<void> {
    await Promise.all([...this.all].map((c) => this.kill(c)));
  }

  /** Synchronous last resort (process 'exit' handlers cannot wait). */
  killAllNow(): void {
    for (const c of this.all) if (c.pid) killGroup(c.pid, 'SIGKILL');
  }
}

/** Signals the process group led by pid (our children lead their own), falling back to the pid. */
export function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    try {
      process.kill(pid, signal);
    } catch {
      // already gone
    }
  }
}

/** Runs a command to completion; resolves with its output, rejects naming it on a non-zero exit. */
export function runCommand(
  children: Children,
  command: string,
  args: string[],
  opts: SpawnOptions = {},
): Promise<{ stdout: string; stderr: string; ms: number }> {
  const started = performance.now();
  const child = children.spawn(command, args, opts);
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr?.on('data', (c: Buffer) => (stderr += c.toString()));
  return new Promise((resolve, reject) => {
    child.once('error', (e) => reject(new Error(`${command}: ${e.message}`)));
    child.once('close', (code, signal) => {
      const ms = performance.now() - started;
      if (code === 0) resolve({ stdout, stderr, ms });
      else
        reject(
          new Error(
            `${command} ${args.join(' ')} exited with ${signal ?? code}: ${stderr.trim().slice(-800)}`,
          ),
        );
    });
  });
}
