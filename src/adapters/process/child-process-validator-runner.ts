import { spawn } from 'node:child_process';
import type { ValidatorRun, ValidatorRunner } from '../../ports/validator-runner.ts';

/** Bytes kept of each of stdout and stderr; the rest is read and dropped, so the child never blocks on a full pipe. */
const CAPTURE_BYTES = 16 * 1024;
/** After the child exits, how long its pipes may stay open (a grandchild holding them) before they are closed. */
const PIPE_GRACE_MS = 1000;

/**
 * Runs a validator's argv with child_process.spawn, no shell, as the agent's own user, in a process
 * group of its own (detached) so that a timeout kills the validator and whatever it started. stdin
 * is closed, the working directory is `/`, and the environment is the agent's own.
 */
export class ChildProcessValidatorRunner implements ValidatorRunner {
  run(argv: readonly string[], timeoutMs: number): Promise<ValidatorRun> {
    return new Promise((resolve, reject) => {
      const child = spawn(argv[0], argv.slice(1), {
        shell: false,
        detached: true,
        cwd: '/',
        stdio: ['ignore', 'pipe', 'pipe'],
        windowsHide: true,
      });
      const stdout = new Capture();
      const stderr = new Capture();
      child.stdout.on('data', (c: Buffer) => stdout.add(c));
      child.stderr.on('data', (c: Buffer) => stderr.add(c));
      let timedOut = false;
      const killGroup = (): void => {
        try {
          if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
        } catch {
          child.kill('SIGKILL');
        }
      };
      const timer = setTimeout(() => {
        timedOut = true;
        killGroup();
      }, timeoutMs);
      child.once('error', (e: NodeJS.ErrnoException) => {
        clearTimeout(timer);
        reject(Object.assign(new Error(`cannot run ${argv[0]}: ${e.code ?? e.message}`), { code: e.code }));
      });
      child.once('exit', (code) => {
        clearTimeout(timer);
        // What the validator left running in its group goes with it.
        if (timedOut || code !== null) killGroup();
        const finish = (): void =>
          resolve({ exitCode: code, timedOut, stdout: stdout.text(), stderr: stderr.text() });
        let closed = false;
        const grace = setTimeout(() => {
          if (closed) return;
          child.stdout.destroy();
          child.stderr.destroy();
          finish();
        }, PIPE_GRACE_MS);
        child.once('close', () => {
          closed = true;
          clearTimeout(grace);
          finish();
        });
      });
    });
  }
}

/** The first CAPTURE_BYTES of a stream. */
class Capture {
  private readonly chunks: Buffer[] = [];
  private size = 0;

  add(chunk: Buffer): void {
    if (this.size >= CAPTURE_BYTES) return;
    const part = chunk.subarray(0, CAPTURE_BYTES - this.size);
    this.chunks.push(part);
    this.size += part.byteLength;
  }

  text(): string {
    return Buffer.concat(this.chunks).toString('utf8');
  }
}
