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
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { openPostgresDatabase, type PgDb } from '../../src/adapters/postgres/postgres-database.ts';
import { migrate } from '../../src/adapters/postgres/postgres-migrations.ts';

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

/** The account the server runs as: ourselves, or (PostgreSQL refuses root) Debian's postgres, else nobody. */
function runAs(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  for (const name of ['postgres', 'nobody']) {
    const r = spawnSync('getent', ['passwd', name], { encoding: 'utf8' });
    const [, , uid, gid] = r.stdout.trim().split(':');
    if (r.status === 0 && uid) return { uid: Number(uid), gid: Number(gid) };
  }
  throw new Error('running as root, and neither a postgres nor a nobody user exists to run PostgreSQL as');
}

async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const { port } = srv.address() as { port: number };
  await new Promise((resolve) => srv.close(resolve));
  return port;
}

/** A private PostgreSQL server in a temp folder, on 127.0.0.1 only, with a random password. */
export class TestPostgres {
  private template?: Promise<void>;
  private made = 0;

  private constructor(
    readonly dir: string,
    private readonly bin: string,
    readonly port: number,
    private readonly password: string,
    /** The postmaster's pid; a new one after resume(). */
    public pid: number,
  ) {}

  static async start(bin: string): Promise<TestPostgres> {
    const dir = mkdtempSync(join(tmpdir(), 'rport-pg-'));
    const owner = runAs();
    const as = owner ? { uid: owner.uid, gid: owner.gid } : {};
    try {
      if (owner) chownSync(dir, owner.uid, owner.gid);
      chmodSync(dir, 0o700);
      const password = randomBytes(18).toString('base64url');
      const pwfile = join(dir, 'pw');
      writeFileSync(pwfile, `${password}\n`, { mode: 0o600 });
      if (owner) chownSync(pwfile, owner.uid, owner.gid);
      const data = join(dir, 'data');
      execFileSync(
        join(bin, 'initdb'),
        [
          '-D',
          data,
          '-U',
          'rport',
          `--pwfile=${pwfile}`,
          '--auth=scram-sha-256',
          '-E',
          'UTF8',
          '--locale=C',
          '--no-sync',
        ],
        { ...as, stdio: 'pipe', cwd: dir },
      );
      rmSync(pwfile);
      const port = await freePort();
      const pid = pgCtlStart(bin, dir, port);
      const server = new TestPostgres(dir, bin, port, password, pid);
      process.once('exit', () => server.stopSync());
      return server;
    } catch (e) {
      const log = join(dir, 'server.log');
      const detail = existsSync(log) ? `\n${readFileSync(log, 'utf8')}` : '';
      rmSync(dir, { recursive: true, force: true });
      const err = e as Error & { stderr?: Buffer };
      throw new Error(
        `could not start a test PostgreSQL: ${err.message} ${err.stderr?.toString() ?? ''}${detail}`,
        { cause: e },
      );
    }
  }

  url(database: string): string {
    return `postgres://rport:${this.password}@127.0.0.1:${this.port}/${database}`;
  }

  /** Runs one statement on the postgres database (CREATE/DROP DATABASE). */
  async admin(text: string): Promise<void> {
    const c = new pg.Client({ connectionString: this.url('postgres') });
    await c.connect();
    try {
      await c.query(text);
    } finally {
      await c.end();
    }
  }

  /** A new, empty database (no schema). */
  async emptyDatabase(): Promise<string> {
    const name = `t${++this.made}_${process.pid}`;
    await this.admin(`CREATE DATABASE ${name} TEMPLATE template0`);
    return this.url(name);
  }

  /** A new database with the current schema: a copy of one migrated once, which is quicker than migrating. */
  async freshDatabase(): Promise<string> {
    this.template ??= (async () => {
      await this.admin('CREATE DATABASE rport_template TEMPLATE template0');
      const pool = new pg.Pool({ connectionString: this.url('rport_template') });
      try {
        await migrate(pool);
      } finally {
        await pool.end();
      }
    })();
    await this.template;
    const name = `t${++this.made}_${process.pid}`;
    await this.admin(`CREATE DATABASE ${name} TEMPLATE rport_template`);
    return this.url(name);
  }

  async drop(url: string): Promise<void> {
    await this.admin(`DROP DATABASE IF EXISTS ${new URL(url).pathname.slice(1)} WITH (FORCE)`);
  }

  /** Stops the server but keeps its data, as an outage would; resume() starts it again on the same port. */
  pause(): void {
    execFileSync(
      join(this.bin, 'pg_ctl'),
      ['-D', join(this.dir, 'data'), '-m', 'fast', '-w', '-t', '30', 'stop'],
      {
        ...(runAs() ?? {}),
        stdio: 'pipe',
      },
    );
  }

  resume(): void {
    this.pid = pgCtlStart(this.bin, this.dir, this.port);
  }

  /** Stops the server (fast shutdown, by its pid) and removes its folder. */
  stopSync(): void {
    if (!existsSync(this.dir)) return;
    spawnSync(
      join(this.bin, 'pg_ctl'),
      ['-D', join(this.dir, 'data'), '-m', 'fast', '-w', '-t', '30', 'stop'],
      {
        ...(runAs() ?? {}),
        stdio: 'ignore',
      },
    );
    if (alive(this.pid)) process.kill(this.pid, 'SIGKILL');
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Starts the server of dir on 127.0.0.1:port and waits until it accepts connections; its pid. */
function pgCtlStart(bin: string, dir: string, port: number): number {
  const data = join(dir, 'data');
  // Durability is no concern for a throwaway server: no fsync makes each CREATE DATABASE quick.
  const options = `-c listen_addresses=127.0.0.1 -p ${port} -k ${dir} -c fsync=off -c synchronous_commit=off -c full_page_writes=off`;
  execFileSync(
    join(bin, 'pg_ctl'),
    ['-D', data, '-l', join(dir, 'server.log'), '-w', '-t', '60', '-o', options, 'start'],
    {
      ...(runAs() ?? {}),
      stdio: 'pipe',
      cwd: dir,
    },
  );
  return Number(readFileSync(join(data, 'postmaster.pid'), 'utf8').split('\n')[0]);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

let shared: Promise<TestPostgres> | undefined;

/**
 * The one test server of this mocha run, started on first use and stopped when the process exits.
 * Without Debian's binaries: under CI=true a failure, elsewhere a loud skip of the calling suite.
 */
export async function sharedPostgres(ctx: Mocha.Context, tests: string): Promise<TestPostgres> {
  const bin = requirePostgresBin(ctx, tests);
  ctx.timeout(120_000);
  shared ??= TestPostgres.start(bin);
  return shared;
}

/** A server of the calling suite's own, for tests that stop it: the caller stops it with stopSync(). */
export async function privatePostgres(ctx: Mocha.Context, tests: string): Promise<TestPostgres> {
  const bin = requirePostgresBin(ctx, tests);
  ctx.timeout(120_000);
  return TestPostgres.start(bin);
}

/** Debian's PostgreSQL binaries; without them, under CI=true a failure, elsewhere a loud skip. */
function requirePostgresBin(ctx: Mocha.Context, tests: string): string {
  const bin = postgresBin();
  if (!bin) {
    if (process.env.CI === 'true')
      throw new Error(
        `PostgreSQL is required for ${tests}: no /usr/lib/postgresql/*/bin/initdb (apt-get install -y postgresql)`,
      );
    console.warn(
      `\n      !!! SKIPPING ${tests}: PostgreSQL is not installed (apt-get install -y postgresql); under CI=true this fails\n`,
    );
    ctx.skip();
  }
  return bin!;
}

/** One test's database: a fresh copy of the current schema, its pool, and how to end both. */
export interface TestDatabase {
  url: string;
  db: PgDb;
  /** Ends the pool and opens a new one on the same database, as a restarted node does. */
  reopen(): Promise<PgDb>;
  cleanup(): Promise<void>;
}

export async function testDatabase(server: TestPostgres): Promise<TestDatabase> {
  const url = await server.freshDatabase();
  const handle: TestDatabase = {
    url,
    db: await openPostgresDatabase(url),
    reopen: async () => {
      await handle.db.end();
      handle.db = await openPostgresDatabase(url);
      return handle.db;
    },
    cleanup: async () => {
      await handle.db.end();
      await server.drop(url);
    },
  };
  return handle;
}
