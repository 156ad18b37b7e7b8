import { randomBytes } from 'node:crypto';
import { ADMIN_GROUP, type Caller } from '../../domain/caller.ts';
import type {
  ApiUserAdmin,
  ApiUserChanges,
  ApiUserView,
  UserEditRefusal,
} from '../../ports/api-user-admin.ts';
import type { ApiUserDirectory } from '../../ports/api-user-directory.ts';
import { hashPassword, UNKNOWN_USER_HASH, verifyPassword } from './password-hash.ts';
import { statement, type SqliteDb } from './sqlite-database.ts';

const INITIAL_ADMIN = 'admin';
export const USERNAME = /^[A-Za-z0-9._@-]{1,64}$/;
export const MIN_PASSWORD = 8;
const newStamp = (): string => randomBytes(12).toString('base64url');

/** API users with scrypt password hashes and their user groups. */
export class SqliteApiUsers implements ApiUserDirectory, ApiUserAdmin {
  constructor(private readonly db: SqliteDb) {}

  async create(username: string, password: string, groups: string[]): Promise<UserEditRefusal | undefined> {
    checkName(username);
    checkPassword(username, password);
    const hash = await hashPassword(password);
    return this.db.transaction(() => {
      if (this.exists(username)) return 'exists' as const;
      statement(
        this.db,
        'INSERT INTO api_users (username, password_hash, created_at, session_stamp) VALUES (?, ?, ?, ?)',
      ).run(username, hash, new Date().toISOString(), newStamp());
      this.setGroups(username, groups);
      return undefined;
    })();
  }

  async list(): Promise<ApiUserView[]> {
    const names = statement(this.db, 'SELECT username FROM api_users ORDER BY username').all() as {
      username: string;
    }[];
    return names.map((r) => ({ username: r.username, groups: this.groupsOf(r.username) }));
  }

  async get(username: string): Promise<ApiUserView | undefined> {
    return this.exists(username) ? { username, groups: this.groupsOf(username) } : undefined;
  }

  /**
   * Changes what `changes` names. A new password or name ends the user's sessions (their tokens stop
   * working). The last member of Administrators can be neither renamed away nor taken out of it.
   */
  async update(username: string, changes: ApiUserChanges): Promise<UserEditRefusal | undefined> {
    if (changes.username !== undefined) checkName(changes.username);
    if (changes.password !== undefined) checkPassword(username, changes.password);
    const hash = changes.password === undefined ? undefined : await hashPassword(changes.password);
    return this.db.transaction(() => {
      if (!this.exists(username)) return 'not-found' as const;
      const to = changes.username ?? username;
      if (to !== username && this.exists(to)) return 'exists' as const;
      const groups = changes.groups ?? this.groupsOf(username);
      if (!groups.includes(ADMIN_GROUP) && this.isLastAdmin(username)) return 'last-admin' as const;
      statement(this.db, 'DELETE FROM api_user_groups WHERE username = ?').run(username);
      if (to !== username || hash !== undefined) {
        statement(
          this.db,
          'UPDATE api_users SET username = ?, password_hash = COALESCE(?, password_hash), session_stamp = ? WHERE username = ?',
        ).run(to, hash ?? null, newStamp(), username);
      }
      this.setGroups(to, groups);
      return undefined;
    })();
  }

  async delete(username: string): Promise<UserEditRefusal | undefined> {
    return this.db.transaction(() => {
      if (!this.exists(username)) return 'not-found' as const;
      if (this.isLastAdmin(username)) return 'last-admin' as const;
      statement(this.db, 'DELETE FROM api_users WHERE username = ?').run(username);
      return undefined;
    })();
  }

  count(): number {
    return (statement(this.db, 'SELECT COUNT(*) AS n FROM api_users').get() as { n: number }).n;
  }

  /**
   * On first start (no users at all), creates `admin` in Administrators with a random password and
   * returns it: the caller shows it once. Undefined when users exist.
   */
  async ensureInitialAdmin(): Promise<{ username: string; password: string } | undefined> {
    if (this.count() > 0) return undefined;
    const password = randomBytes(18).toString('base64url');
    await this.create(INITIAL_ADMIN, password, [ADMIN_GROUP]);
    return { username: INITIAL_ADMIN, password };
  }

  /**
   * For `rportd --reset-admin-password`: gives the user this password and puts them in Administrators,
   * creating them if needed; their earlier sessions end. True when the user was created.
   */
  async resetAdmin(username: string, password: string): Promise<boolean> {
    if (this.exists(username)) {
      const groups = [...new Set([...this.groupsOf(username), ADMIN_GROUP])];
      await this.update(username, { password, groups });
      return false;
    }
    await this.create(username, password, [ADMIN_GROUP]);
    return true;
  }

  /** The caller when username and password match; undefined otherwise, in the same time either way. */
  async authenticate(username: string, password: string): Promise<Caller | undefined> {
    const row = statement(this.db, 'SELECT password_hash FROM api_users WHERE username = ?').get(username) as
      { password_hash: string } | undefined;
    const ok = await verifyPassword(password, row?.password_hash ?? UNKNOWN_USER_HASH);
    return ok && row ? this.find(username) : undefined;
  }

  /** The user's current groups (a token stays valid only while its user exists and its stamp holds). */
  async find(username: string, stamp?: string): Promise<Caller | undefined> {
    const current = this.stampOf(username);
    if (current === undefined || (stamp !== undefined && stamp !== current)) return undefined;
    const groups = this.groupsOf(username);
    return { username, admin: groups.includes(ADMIN_GROUP), groups };
  }

  async sessionStamp(username: string): Promise<string | undefined> {
    return this.stampOf(username);
  }

  private stampOf(username: string): string | undefined {
    const row = statement(this.db, 'SELECT session_stamp FROM api_users WHERE username = ?').get(username) as
      { session_stamp: string } | undefined;
    return row?.session_stamp;
  }

  private exists(username: string): boolean {
    return statement(this.db, 'SELECT 1 FROM api_users WHERE username = ?').get(username) !== undefined;
  }

  private groupsOf(username: string): string[] {
    return (
      statement(this.db, 'SELECT group_name FROM api_user_groups WHERE username = ? ORDER BY group_name').all(
        username,
      ) as { group_name: string }[]
    ).map((r) => r.group_name);
  }

  private setGroups(username: string, groups: string[]): void {
    const add = statement(
      this.db,
      'INSERT OR IGNORE INTO api_user_groups (username, group_name) VALUES (?, ?)',
    );
    for (const g of groups) add.run(username, g);
  }

  private isLastAdmin(username: string): boolean {
    const admins = statement(this.db, 'SELECT username FROM api_user_groups WHERE group_name = ?').all(
      ADMIN_GROUP,
    ) as { username: string }[];
    return admins.length === 1 && admins[0].username === username;
  }
}

function checkName(username: string): void {
  if (!USERNAME.test(username))
    throw new Error(`username "${username}" must be 1-64 letters, digits, . _ @ -`);
}

function checkPassword(username: string, password: string): void {
  if (password.length < MIN_PASSWORD)
    throw new Error(`the password of ${username} must be at least ${MIN_PASSWORD} characters`);
}
