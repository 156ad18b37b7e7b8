import { randomBytes } from 'node:crypto';
import type pg from 'pg';
import { ADMIN_GROUP, type Caller } from '../../domain/caller.ts';
import type {
  ApiUserAdmin,
  ApiUserChanges,
  ApiUserView,
  UserEditRefusal,
} from '../../ports/api-user-admin.ts';
import type { ApiUserDirectory } from '../../ports/api-user-directory.ts';
import { hashPassword, UNKNOWN_USER_HASH, verifyPassword } from '../sqlite/password-hash.ts';
import { MIN_PASSWORD, USERNAME } from '../sqlite/sqlite-api-users.ts';
import { sql, transaction, type PgDb, type PgQueryable } from './postgres-database.ts';

const INITIAL_ADMIN = 'admin';
const newStamp = (): string => randomBytes(12).toString('base64url');

/**
 * Every edit of users and memberships takes this transaction-scoped lock first: the last-admin
 * rule reads the other admins, and two nodes each removing a different admin must not both see
 * the other one still there.
 */
export const USERS_LOCK = 0x72706f7275;

/** API users with scrypt password hashes and their user groups, shared by every node. */
export class PostgresApiUsers implements ApiUserDirectory, ApiUserAdmin {
  constructor(private readonly db: PgDb) {}

  async create(username: string, password: string, groups: string[]): Promise<UserEditRefusal | undefined> {
    checkName(username);
    checkPassword(username, password);
    const hash = await hashPassword(password);
    return transaction(this.db, async (c) => {
      await lockUsers(c);
      const added = await sql(
        c,
        `INSERT INTO api_users (username, password_hash, created_at, session_stamp) VALUES ($1, $2, now(), $3)
           ON CONFLICT (username) DO NOTHING`,
        [username, hash, newStamp()],
      );
      if (added.rowCount !== 1) return 'exists';
      await setGroups(c, username, groups);
      return undefined;
    });
  }

  async list(): Promise<ApiUserView[]> {
    const { rows } = await sql<{ username: string; groups: string[] }>(
      this.db,
      `SELECT u.username, COALESCE(array_agg(g.group_name ORDER BY g.group_name COLLATE "C")
           FILTER (WHERE g.group_name IS NOT NULL), '{}') AS groups
         FROM api_users u LEFT JOIN api_user_groups g ON g.username = u.username
         GROUP BY u.username ORDER BY u.username COLLATE "C"`,
    );
    return rows;
  }

  async get(username: string): Promise<ApiUserView | undefined> {
    return (await exists(this.db, username))
      ? { username, groups: await groupsOf(this.db, username) }
      : undefined;
  }

  /**
   * Changes what `changes` names. A new password or name ends the user's sessions (their tokens stop
   * working). The last member of Administrators can be neither renamed away nor taken out of it.
   */
  async update(username: string, changes: ApiUserChanges): Promise<UserEditRefusal | undefined> {
    if (changes.username !== undefined) checkName(changes.username);
    if (changes.password !== undefined) checkPassword(username, changes.password);
    const hash = changes.password === undefined ? undefined : await hashPassword(changes.password);
    return transaction(this.db, async (c) => {
      await lockUsers(c);
      if (!(await exists(c, username))) return 'not-found';
      const to = changes.username ?? username;
      if (to !== username && (await exists(c, to))) return 'exists';
      const groups = changes.groups ?? (await groupsOf(c, username));
      if (!groups.includes(ADMIN_GROUP) && (await isLastAdmin(c, username))) return 'last-admin';
      await sql(c, 'DELETE FROM api_user_groups WHERE username = $1', [username]);
      if (to !== username || hash !== undefined) {
        await sql(
          c,
          'UPDATE api_users SET username = $1, password_hash = COALESCE($2, password_hash), session_stamp = $3 WHERE username = $4',
          [to, hash ?? null, newStamp(), username],
        );
      }
      await setGroups(c, to, groups);
      return undefined;
    });
  }

  async delete(username: string): Promise<UserEditRefusal | undefined> {
    return transaction(this.db, async (c) => {
      await lockUsers(c);
      if (!(await exists(c, username))) return 'not-found';
      if (await isLastAdmin(c, username)) return 'last-admin';
      await sql(c, 'DELETE FROM api_users WHERE username = $1', [username]);
      return undefined;
    });
  }

  async count(): Promise<number> {
    const { rows } = await sql<{ n: number }>(this.db, 'SELECT COUNT(*)::integer AS n FROM api_users');
    return rows[0].n;
  }

  /**
   * On first start (no users at all), creates `admin` in Administrators with a random password and
   * returns it: the caller shows it once. Undefined when users exist, or when another node created
   * the first admin at the same moment (that node shows the password).
   */
  async ensureInitialAdmin(): Promise<{ username: string; password: string } | undefined> {
    if ((await this.count()) > 0) return undefined;
    const password = randomBytes(18).toString('base64url');
    const refused = await this.create(INITIAL_ADMIN, password, [ADMIN_GROUP]);
    return refused ? undefined : { username: INITIAL_ADMIN, password };
  }

  /**
   * For `rportd --reset-admin-password`: gives the user this password and puts them in Administrators,
   * creating them if needed; their earlier sessions end. True when the user was created.
   */
  async resetAdmin(username: string, password: string): Promise<boolean> {
    if (await exists(this.db, username)) {
      const groups = [...new Set([...(await groupsOf(this.db, username)), ADMIN_GROUP])];
      await this.update(username, { password, groups });
      return false;
    }
    await this.create(username, password, [ADMIN_GROUP]);
    return true;
  }

  /** The caller when username and password match; undefined otherwise, in the same time either way. */
  async authenticate(username: string, password: string): Promise<Caller | undefined> {
    const { rows } = await sql<{ password_hash: string }>(
      this.db,
      'SELECT password_hash FROM api_users WHERE username = $1',
      [username],
    );
    const ok = await verifyPassword(password, rows[0]?.password_hash ?? UNKNOWN_USER_HASH);
    return ok && rows[0] ? this.find(username) : undefined;
  }

  /** The user's current groups (a token stays valid only while its user exists and its stamp holds). */
  async find(username: string, stamp?: string): Promise<Caller | undefined> {
    const current = await this.sessionStamp(username);
    if (current === undefined || (stamp !== undefined && stamp !== current)) return undefined;
    const groups = await groupsOf(this.db, username);
    return { username, admin: groups.includes(ADMIN_GROUP), groups };
  }

  async sessionStamp(username: string): Promise<string | undefined> {
    const { rows } = await sql<{ session_stamp: string }>(
      this.db,
      'SELECT session_stamp FROM api_users WHERE username = $1',
      [username],
    );
    return rows[0]?.session_stamp;
  }
}

export async function lockUsers(c: pg.PoolClient): Promise<void> {
  await c.query('SELECT pg_advisory_xact_lock($1)', [USERS_LOCK]);
}

async function exists(db: PgQueryable, username: string): Promise<boolean> {
  return ((await sql(db, 'SELECT 1 FROM api_users WHERE username = $1', [username])).rowCount ?? 0) > 0;
}

async function groupsOf(db: PgQueryable, username: string): Promise<string[]> {
  const { rows } = await sql<{ group_name: string }>(
    db,
    'SELECT group_name FROM api_user_groups WHERE username = $1 ORDER BY group_name COLLATE "C"',
    [username],
  );
  return rows.map((r) => r.group_name);
}

async function setGroups(c: pg.PoolClient, username: string, groups: string[]): Promise<void> {
  await sql(
    c,
    `INSERT INTO api_user_groups (username, group_name) SELECT $1, unnest($2::text[])
       ON CONFLICT DO NOTHING`,
    [username, groups],
  );
}

async function isLastAdmin(c: pg.PoolClient, username: string): Promise<boolean> {
  const { rows } = await sql<{ username: string }>(
    c,
    'SELECT username FROM api_user_groups WHERE group_name = $1',
    [ADMIN_GROUP],
  );
  return rows.length === 1 && rows[0].username === username;
}

function checkName(username: string): void {
  if (!USERNAME.test(username))
    throw new Error(`username "${username}" must be 1-64 letters, digits, . _ @ -`);
}

function checkPassword(username: string, password: string): void {
  if (password.length < MIN_PASSWORD)
    throw new Error(`the password of ${username} must be at least ${MIN_PASSWORD} characters`);
}
