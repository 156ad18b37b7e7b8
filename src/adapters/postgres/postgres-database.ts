import pg from 'pg';
import { migrate } from './postgres-migrations.ts';

export type PgDb = pg.Pool;
/** A pool or one of its clients inside a transaction: both run queries. */
export type PgQueryable = pg.Pool | pg.PoolClient;

export interface PostgresOptions {
  /** Connections this node keeps open at most. */
  maxConnections?: number;
  /**
   * An idle connection that fails (the server restarted, the network dropped) is reported here
   * instead of ending the process; the pool opens a new one on the next query.
   */
  onError?: (e: Error) => void;
}

/** The URL with its password masked, for error messages and logs. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '(unparsable URL)';
  }
}

/** Checks the `database_url` before any connection: a postgres:// or postgresql:// URL. */
export function checkDatabaseUrl(url: string): void {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new Error('database_url is not a URL; expected postgres://user:password@host:port/database');
  }
  if (u.protocol !== 'postgres:' && u.protocol !== 'postgresql:')
    throw new Error(`database_url must start with postgres:// or postgresql://, not ${u.protocol}//`);
}

/**
 * Opens a connection pool on the database and brings its schema up to date (see migrate: several
 * nodes may do this at once). The pool is the PostgreSQL adapters' shared handle.
 */
export async function openPostgresDatabase(url: string, opts: PostgresOptions = {}): Promise<PgDb> {
  checkDatabaseUrl(url);
  const pool = new pg.Pool({ connectionString: url, max: opts.maxConnections ?? 10 });
  pool.on('error', (e) => opts.onError?.(e));
  try {
    await migrate(pool);
  } catch (e) {
    await pool.end().catch(() => undefined);
    throw new Error(`PostgreSQL at ${redactUrl(url)}: ${(e as Error).message}`, { cause: e });
  }
  return pool;
}

/**
 * PostgreSQL's text cannot hold a NUL character (SQLite's can): one in a parameter, from an agent's
 * message or a hostile id, becomes U+FFFD instead of failing the statement. JSON goes in as its
 * text, where JSON.stringify has written a NUL as the escape \u0000, so it comes back whole.
 */
const clean = (v: unknown): unknown =>
  typeof v === 'string' && v.includes('\0')
    ? v.replaceAll('\0', '\uFFFD')
    : Array.isArray(v)
      ? v.map(clean)
      : v;

/** Runs one statement with its parameters made storable. */
export async function sql<R extends pg.QueryResultRow>(
  db: PgQueryable,
  text: string,
  params: unknown[] = [],
): Promise<pg.QueryResult<R>> {
  return db.query<R>(text, params.map(clean));
}

/** Runs fn in a transaction on one connection; commits what it returns, rolls back what it throws. */
export async function transaction<T>(db: PgDb, fn: (c: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await db.connect();
  try {
    await client.query('BEGIN');
    try {
      const out = await fn(client);
      await client.query('COMMIT');
      return out;
    } catch (e) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw e;
    }
  } finally {
    client.release();
  }
}

/** JSON for a json column: the text, cast in the statement (`$n::json`). */
export const json = (value: unknown): string => JSON.stringify(value);

/** ISO 8601 of a timestamptz column as pg hands it back. */
export const iso = (d: Date | string): string => (d instanceof Date ? d : new Date(d)).toISOString();
