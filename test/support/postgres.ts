import { existsSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import pg from 'pg';
import { openPostgresDatabase, type PgDb } from '../../src/adapters/postgres/postgres-database.ts';
import { migrate } from '../../src/adapters/postgres/postgres-migrations.ts';
import {
  initCluster,
  pgCtlStart,
  pgCtlStop,
  postgresBin,
  startFailure,
} from '../../src/composition/demo/private-postgres.ts';

// Durability is no concern for a throwaway server: no fsync makes each CREATE DATABASE quick.
const SERVER_OPTIONS = ['fsync=off', 'synchronous_commit=off', 'full_page_writes=off'];

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
    let dir: string | undefined;
    try {
      const made = initCluster(bin, 'rport-pg-');
      dir = made.dir;
      const port = await freePort();
      const pid = pgCtlStart(bin, dir, port, SERVER_OPTIONS);
      const server = new TestPostgres(dir, bin, port, made.password, pid);
      process.once('exit', () => server.stopSync());
      return server;
    } catch (e) {
      const detail = dir ? startFailure(e, dir) : (e as Error).message;
      if (dir) rmSync(dir, { recursive: true, force: true });
      throw new Error(`could not start a test PostgreSQL: ${detail}`, { cause: e });
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
    pgCtlStop(this.bin, this.dir, 'fast', false);
  }

  resume(): void {
    this.pid = pgCtlStart(this.bin, this.dir, this.port, SERVER_OPTIONS);
  }

  /** Stops the server (fast shutdown, by its pid) and removes its folder. */
  stopSync(): void {
    if (!existsSync(this.dir)) return;
    pgCtlStop(this.bin, this.dir, 'fast', true);
    if (alive(this.pid)) process.kill(this.pid, 'SIGKILL');
    rmSync(this.dir, { recursive: true, force: true });
  }
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
