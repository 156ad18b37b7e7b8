import type { UserGroupAdmin, UserGroupView } from '../../ports/api-user-admin.ts';
import { statement, type SqliteDb } from './sqlite-database.ts';

/**
 * User groups: a group exists while it has stored details or at least one member. Deleting one
 * removes both, as openrport does.
 */
export class SqliteUserGroups implements UserGroupAdmin {
  constructor(private readonly db: SqliteDb) {}

  async list(): Promise<UserGroupView[]> {
    const rows = statement(
      this.db,
      `SELECT name, permissions FROM user_group_details
       UNION SELECT DISTINCT group_name, NULL FROM api_user_groups
         WHERE group_name NOT IN (SELECT name FROM user_group_details)
       ORDER BY 1`,
    ).all() as { name: string; permissions: string | null }[];
    return rows.map(viewOf);
  }

  async get(name: string): Promise<UserGroupView | undefined> {
    const row = statement(this.db, 'SELECT name, permissions FROM user_group_details WHERE name = ?').get(
      name,
    ) as { name: string; permissions: string } | undefined;
    if (row) return viewOf(row);
    const member = statement(this.db, 'SELECT 1 FROM api_user_groups WHERE group_name = ? LIMIT 1').get(name);
    return member ? { name, permissions: {} } : undefined;
  }

  async put(group: UserGroupView): Promise<void> {
    statement(
      this.db,
      'INSERT INTO user_group_details (name, permissions) VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET permissions = excluded.permissions',
    ).run(group.name, JSON.stringify(group.permissions));
  }

  async delete(name: string): Promise<boolean> {
    return this.db.transaction(() => {
      const details = statement(this.db, 'DELETE FROM user_group_details WHERE name = ?').run(name).changes;
      const members = statement(this.db, 'DELETE FROM api_user_groups WHERE group_name = ?').run(
        name,
      ).changes;
      return details + members > 0;
    })();
  }
}

function viewOf(row: { name: string; permissions: string | null }): UserGroupView {
  return {
    name: row.name,
    permissions: row.permissions === null ? {} : (JSON.parse(row.permissions) as Record<string, boolean>),
  };
}
