/**
 * A private PostgreSQL for the cluster demo, from Debian's binaries: initdb in a folder of its own
 * (as the unprivileged postgres user when we run as root: the server refuses root), listening on
 * 127.0.0.1 only with a random password, stopped by pg_ctl and then by its pid.
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
function runAs(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  for (const name of ['postgres', 'nobody']) {
    const r = spawnSync('getent', ['passwd', name], { encoding: 'utf8' });
    const [, , uid, gid] = r.stdout.trim().split(':');
    if (r.status === 0 && uid) return { uid: Number(uid), gid: Number(gid) };
  }
  throw new Error('running as root, and neither a postgres nor a nobody user exists to run PostgreSQL as');
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
    const dir = mkdtempSync(join(tmpdir(), 'rport-demo-pg-'));
    const owner = runAs();
    const as = owner ?? {};
    try {
      if (owner) chownSync(dir, owner.uid, owner.gid);
      chmodSync(dir, 0o700);
      const password = randomBytes(18).toString('base64url');
      const pwfile = join(dir, 'pw');
      writeFileSync(pwfile, `${password}\n`, { mode: 0o600 });
      if (owner) chownSync(pwfile, owner.uid, owner.gid);
      const data = join(dir, 'data');
      const initdb = ['-D', data, '-U', 'rport', `--pwfile=${pwfile}`, '--auth=scram-sha-256'];
      execFileSync(join(bin, 'initdb'), [...initdb, '-E', 'UTF8', '--locale=C', '--no-sync'], {
        ...as,
        stdio: 'pipe',
        cwd: dir,
      });
      rmSync(pwfile);
      const options = `-c listen_addresses=127.0.0.1 -p ${port} -k ${dir} -c fsync=off`;
      execFileSync(
        join(bin, 'pg_ctl'),
        ['-D', data, '-l', join(dir, 'server.log'), '-w', '-t', '60', '-o', options, 'start'],
        { ...as, stdio: 'pipe', cwd: dir },
      );
      const pid = Number(readFileSync(join(data, 'postmaster.pid'), 'utf8').split('\n')[0]);
      const server = new PrivatePostgres(dir, bin, port, password, pid);
      const c = new pg.Client({ connectionString: server.url('postgres') });
      await c.connect();
      await c.query('CREATE DATABASE rport TEMPLATE template0').finally(() => c.end());
      return server;
    } catch (e) {
      const log = join(dir, 'server.log');
      const detail = existsSync(log) ? `\n${readFileSync(log, 'utf8')}` : '';
      spawnSync(join(bin, 'pg_ctl'), ['-D', join(dir, 'data'), '-m', 'immediate', 'stop'], {
        ...as,
        stdio: 'ignore',
      });
      rmSync(dir, { recursive: true, force: true });
      const err = e as Error & { stderr?: Buffer };
      throw new Error(`could not start PostgreSQL: ${err.message} ${err.stderr?.toString() ?? ''}${detail}`, {
        cause: e,
      });
    }
  }

  url(database = 'rport'): string {
    return `postgres://rport:${this.password}@127.0.0.1:${this.port}/${database}`;
  }

  /** Stops the server (fast shutdown, then SIGKILL by pid if it lingers) and removes its folder. */
  stop(): void {
    if (!existsSync(this.dir)) return;
    spawnSync(
      join(this.bin, 'pg_ctl'),
      ['-D', join(this.dir, 'data'), '-m', 'fast', '-w', '-t', '30', 'stop'],
      {
        ...(runAs() ?? {}),
        stdio: 'ignore',
      },
    );
    try {
      process.kill(this.pid, 'SIGKILL');
    } catch {
      // gone already, as it should be
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}
