// `rportd --reset-admin-password [username]`: the way back for an admin who lost the password. It
// works on the data_dir of rportd.conf while rportd is stopped (the data_dir lock tells), and never
// logs the password.
import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { ConfigError } from '../../adapters/config/server-config-values.ts';
import { loadServerConfig } from '../../adapters/config/server-config.ts';
import { PostgresApiUsers } from '../../adapters/postgres/postgres-api-users.ts';
import { openPostgresDatabase, redactUrl } from '../../adapters/postgres/postgres-database.ts';
import { DataDirLock } from '../../adapters/sqlite/data-dir-lock.ts';
import { MIN_PASSWORD, SqliteApiUsers, USERNAME } from '../../adapters/sqlite/sqlite-api-users.ts';
import { openSqliteDatabase } from '../../adapters/sqlite/sqlite-database.ts';
import { ADMIN_GROUP } from '../../domain/caller.ts';

export const PASSWORD_ENV = 'RPORTD_ADMIN_PASSWORD';

interface Io {
  stdin: NodeJS.ReadableStream & { isTTY?: boolean };
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  env: Record<string, string | undefined>;
}

/** Exit codes: 0 done, 1 rportd is running or the database failed, 2 a usage or config mistake. */
export async function resetAdminPassword(
  configPath: string | undefined,
  user: string | true,
  io: Io,
): Promise<number> {
  const fail = (code: number, message: string): number => {
    io.stderr.write(`rportd --reset-admin-password: ${message}\n`);
    return code;
  };
  const username = user === true ? 'admin' : user;
  if (!USERNAME.test(username))
    return fail(2, `username "${username}" must be 1-64 letters, digits, . _ @ -`);
  let config;
  try {
    config = loadServerConfig(configPath);
  } catch (e) {
    return fail(e instanceof ConfigError ? 2 : 1, (e as Error).message);
  }
  if (config.api.auth)
    return fail(
      2,
      'rportd.conf sets [api] auth: that key holds the API user and password; change it there and restart rportd',
    );
  const given = io.env[PASSWORD_ENV] ?? (io.stdin.isTTY ? undefined : await firstLine(io.stdin));
  const password = given || randomBytes(18).toString('base64url');
  if (password.length < MIN_PASSWORD)
    return fail(
      2,
      `the new password (from ${io.env[PASSWORD_ENV] ? PASSWORD_ENV : 'stdin'}) must be at least ${MIN_PASSWORD} characters`,
    );

  const dataDir = config.server.data_dir;
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const lock = DataDirLock.take(dataDir);
  if (!lock)
    return fail(
      1,
      `rportd is running with data_dir ${dataDir} (its rportd.lock is held): stop it, then run this again`,
    );
  const url = config.cluster.database_url;
  try {
    // On PostgreSQL the users are every node's: the reset takes effect on all of them at once.
    const created = url
      ? await resetOnPostgres(url, username, password)
      : await resetOnSqlite(dataDir, username, password);
    io.stderr.write(
      `rportd: ${created ? 'created' : 'reset'} API user "${username}" in ${ADMIN_GROUP}; earlier tokens of theirs no longer work\n`,
    );
  } catch (e) {
    return fail(1, `${url ? `[cluster] database_url ${redactUrl(url)}` : dataDir}: ${(e as Error).message}`);
  } finally {
    lock.release();
  }
  // Only a password made here is printed: one given was known already.
  if (!given) io.stdout.write(`${password}\n`);
  return 0;
}

async function resetOnSqlite(dataDir: string, username: string, password: string): Promise<boolean> {
  const db = openSqliteDatabase(dataDir);
  try {
    return await new SqliteApiUsers(db).resetAdmin(username, password);
  } finally {
    db.close();
  }
}

async function resetOnPostgres(url: string, username: string, password: string): Promise<boolean> {
  const db = await openPostgresDatabase(url);
  try {
    return await new PostgresApiUsers(db).resetAdmin(username, password);
  } finally {
    await db.end();
  }
}

/** The first line of a piped stdin (the rest is ignored); empty when nothing came. */
async function firstLine(stdin: NodeJS.ReadableStream): Promise<string> {
  let text = '';
  for await (const chunk of stdin) {
    text += chunk.toString();
    if (text.includes('\n')) break;
  }
  return text.split(/\r?\n/, 1)[0] ?? '';
}
