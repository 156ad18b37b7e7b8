import { randomBytes } from 'node:crypto';
import { ADMIN_GROUP, type Caller } from '../../domain/caller.ts';
import { hashPassword, UNKNOWN_USER_HASH, verifyPassword } from './password-hash.ts';
import { statement, type SqliteDb } from './sqlite-database.ts';

const INITIAL_ADMIN = 'admin';
const NAME = /^[A-Za-z0-9._@-]{1,64}$/;

/** API users with scrypt password hashes and their user groups. */
export class SqliteApiUsers {
  constructor(private readonly db: SqliteDb) {}

  async create(username: string, password: string, groups: string[]): Promise<void> {
    if (!NAME.test(username)) throw new Error(`username "${username}" must be 1-64 letters, digits, . _ @ -`);
    if (password.length < 8) throw new Error(`the password of ${username} must be at least 8 characters`);
    const hash = await hashPassword(password);
    this.db.transaction(() => {
      statement(this.db, 'INSERT INTO api_users (username, password_hash, created_at) VALUES (?, ?, ?)').run(
        username,
        hash,
        new Date().toISOString(),
      );
      const add = statement(
        this.db,
        'INSERT OR IGNORE INTO api_user_groups (username, group_name) VALUES (?, ?)',
      );
      for (const g of groups) add.run(username, g);
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

  /** The caller when username and password match; undefined otherwise, in the same time either way. */
  async authenticate(username: string, password: string): Promise<Caller | undefined> {
    const row = statement(this.db, 'SELECT password_hash FROM api_users WHERE username = ?').get(username) as
      { password_hash: string } | undefined;
    const ok = await verifyPassword(password, row?.password_hash ?? UNKNOWN_USER_HASH);
    return ok && row ? this.find(username) : undefined;
  }

  /** The user's current groups (a token stays valid only while its user exists). */
  async find(username: string): Promise<Caller | undefined> {
    const exists = statement(this.db, 'SELECT 1 FROM api_users WHERE username = ?').get(username);
    if (!exists) return undefined;
    const groups = (
      statement(this.db, 'SELECT group_name FROM api_user_groups WHERE username = ? ORDER BY group_name').all(
        username,
      ) as { group_name: string }[]
    ).map((r) => r.group_name);
    return { username, admin: groups.includes(ADMIN_GROUP), groups };
  }
}
