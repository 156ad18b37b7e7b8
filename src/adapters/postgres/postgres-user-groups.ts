import type { UserGroupAdmin, UserGroupView } from '../../ports/api-user-admin.ts';
import { lockUsers } from './postgres-api-users.ts';
import { json, sql, transaction, type PgDb } from './postgres-database.ts';

/**
 * User groups: a group exists while it has stored details or at least one member. Deleting one
 * removes both, as openrport does.
 */
export class PostgresUserGroups implements UserGroupAdmin {
  constructor(private readonly db: PgDb) {}

  async list(): Promise<UserGroupView[]> {
    const { rows } = await sql<{ name: string; permissions: Record<string, boolean> | null }>(
      this.db,
      `SELECT name, permissions FROM (
         SELECT name, permissions FROM user_group_details
         UNION ALL SELECT m.name, NULL::json FROM (SELECT DISTINCT group_name AS name FROM api_user_groups
           WHERE group_name NOT IN (SELECT name FROM user_group_details)) m
       ) g ORDER BY name COLLATE "C"`,
    );
    return rows.map(viewOf);
  }

  async get(name: string): Promise<UserGroupView | undefined> {
    const { rows } = await sql<{ name: string; permissions: Record<string, boolean> }>(
      this.db,
      'SELECT name, permissions FROM user_group_details WHERE name = $1',
      [name],
    );
    if (rows[0]) return viewOf(rows[0]);
    const member = await sql(this.db, 'SELECT 1 FROM api_user_groups WHERE group_name = $1 LIMIT 1', [name]);
    return member.rowCount ? { name, permissions: {} } : undefined;
  }

  async put(group: UserGroupView): Promise<void> {
    await sql(
      this.db,
      `INSERT INTO user_group_details (name, permissions) VALUES ($1, $2::json)
         ON CONFLICT (name) DO UPDATE SET permissions = excluded.permissions`,
      [group.name, json(group.permissions)],
    );
  }

  async delete(name: string): Promise<boolean> {
    return transaction(this.db, async (c) => {
      // Memberships are the users' too: the same lock as their edits.
      await lockUsers(c);
      const details = await sql(c, 'DELETE FROM user_group_details WHERE name = $1', [name]);
      const members = await sql(c, 'DELETE FROM api_user_groups WHERE group_name = $1', [name]);
      return (details.rowCount ?? 0) + (members.rowCount ?? 0) > 0;
    });
  }
}

function viewOf(row: { name: string; permissions: Record<string, boolean> | null }): UserGroupView {
  return { name: row.name, permissions: row.permissions ?? {} };
}
