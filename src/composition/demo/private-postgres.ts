/**
 * A private PostgreSQL for the cluster demo, from Debian's binaries: initdb in a folder of its own
 * (as the unprivileged postgres user when we run as root: the server refuses root), listening on
 * 127.0.0.1 only with a random password, stopped by pg_ctl and then by its pid. The steps are
 * exported for the tests' server (test/support/postgres.ts), which adds pause, resume and databases.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  chmodSync,
  chownSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';

/** Debian's server binaries: the newest /usr/lib/postgresql/<version>/bin holding initdb and pg_ctl. */
export function postgresBin(): string | undefined {
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return undefined;
  return readdirSync(root)
    .filter((v) => /^\d+$/.test(v))
    .sort((a, b) => Number(b) - Number(a))
    .map((v) => join(root, v, 'bin'))
    .find((bin) => existsSync(join(bin, 'initdb')) && existsSync(join(bin, 'pg_ctl')));
}

/** The account the server runs as: ourselves, or (as root) Debian's postgres user, else nobody. */
export function runAs(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  for (const name of ['postgres', 'nobody']) {
    const r = spawnSync('getent', ['passwd', name], { encoding: 'utf8' });
    const [, , uid, gid] = r.stdout.trim().split(':');
    if (r.status === 0 && uid) return { uid: Number(uid), gid: Number(gid) };
  }
  throw new Error('running as root, and neither a postgres nor a nobody user exists to run PostgreSQL as');
}

/**
 * A new folder holding an initdb'd cluster (data/) owned by runAs(), with superuser rport and a
 * random password. On failure the folder is removed and the error names initdb's output.
 */
export function initCluster(bin: string, prefix: string): { dir: string; password: string } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const owner = runAs();
  try {
    if (owner) chownSync(dir, owner.uid, owner.gid);
    chmodSync(dir, 0o700);
    const password = randomBytes(18).toString('base64url');
    const pwfile = join(dir, 'pw');
    writeFileSync(pwfile, `${password}\n`, { mode: 0o600 });
    if (owner) chownSync(pwfile, owner.uid, owner.gid);
    const initdb = ['-D', join(dir, 'data'), '-U', 'rport', `--pwfile=${pwfile}`, '--auth=scram-sha-256'];
    execFileSync(join(bin, 'initdb'), [...initdb, '-E', 'UTF8', '--locale=C', '--no-sync'], {
      ...(owner ?? {}),
      stdio: 'pipe',
      cwd: dir,
    });
    rmSync(pwfile);
    return { dir, password };
  } catch (e) {
    rmSync(dir, { recursive: true, force: true });
    throw new Error(startFailure(e, dir), { cause: e });
  }
}

/** Starts the cluster of dir on 127.0.0.1:port with extra `-c` options and waits until it accepts connections; its pid. */
export function pgCtlStart(bin: string, dir: string, port: number, options: string[]): number {
  const data = join(dir, 'data');
  const o = [`-c listen_addresses=127.0.0.1 -p ${port} -k ${dir}`, ...options.map((c) => `-c ${c}`)].join(
    ' ',
  );
  execFileSync(
    join(bin, 'pg_ctl'),
    ['-D', data, '-l', join(dir, 'server.log'), '-w', '-t', '60', '-o', o, 'start'],
    { ...(runAs() ?? {}), stdio: 'pipe', cwd: dir },
  );
  return Number(readFileSync(join(data, 'postmaster.pid'), 'utf8').split('\n')[0]);
}

/** pg_ctl stop in a mode (fast waits up to 30 s); throws when pg_ctl fails unless `quiet`. */
export function pgCtlStop(bin: string, dir: string, mode: 'fast' | 'immediate', quiet: boolean): void {
  const args = ['-D', join(dir, 'data'), '-m', mode, ...(mode === 'fast' ? ['-w', '-t', '30'] : []), 'stop'];
  const as = runAs() ?? {};
  if (quiet) spawnSync(join(bin, 'pg_ctl'), args, { ...as, stdio: 'ignore' });
  else execFileSync(join(bin, 'pg_ctl'), args, { ...as, stdio: 'pipe' });
}

/** A start's error with what pg_ctl and the server log said. */
export function startFailure(e: unknown, dir: string): string {
  const log = join(dir, 'server.log');
  const detail = existsSync(log) ? `\n${readFileSync(log, 'utf8')}` : '';
  const err = e as Error & { stderr?: Buffer };
  return `${err.message} ${err.stderr?.toString() ?? ''}${detail}`;
}

export class PrivatePostgres {
  private constructor(
    readonly dir: string,
    private readonly bin: string,
    readonly port: number,
    private readonly password: string,
    readonly pid: number,
  ) {}

  /** initdb, start, and a database named `rport`. */
  static async start(bin: string, port: number): Promise<PrivatePostgres> {
    let dir: string | undefined;
    try {
      const made = initCluster(bin, 'rport-demo-pg-');
      dir = made.dir;
      const pid = pgCtlStart(bin, dir, port, ['fsync=off']);
      const server = new PrivatePostgres(dir, bin, port, made.password, pid);
      const c = new pg.Client({ connectionString: server.url('postgres') });
      await c.connect();
      await c.query('CREATE DATABASE rport TEMPLATE template0').finally(() => c.end());
      return server;
    } catch (e) {
      const detail = dir ? startFailure(e, dir) : (e as Error).message;
      if (dir) {
        pgCtlStop(bin, dir, 'immediate', true);
        rmSync(dir, { recursive: true, force: true });
      }
      throw new Error(`could not start PostgreSQL: ${detail}`, { cause: e });
    }
  }

  url(database = 'rport'): string {
    return `postgres://rport:${this.password}@127.0.0.1:${this.port}/${database}`;
  }

  /** Stops the server (fast shutdown, then SIGKILL by pid if it lingers) and removes its folder. */
  stop(): void {
    if (!existsSync(this.dir)) return;
    pgCtlStop(this.bin, this.dir, 'fast', true);
    try {
      process.kill(this.pid, 'SIGKILL');
    } catch {
      // gone already, as it should be
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}
