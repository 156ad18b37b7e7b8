import type { ClientGroup } from '../../domain/client-group.ts';
import type { ClientGroupStore } from '../../ports/client-group-store.ts';
import { statement, type SqliteDb } from './sqlite-database.ts';

interface Row {
  id: string;
  description: string;
  params: string;
  allowed_user_groups: string;
}

const groupOf = (r: Row): ClientGroup => ({
  id: r.id,
  description: r.description,
  params: JSON.parse(r.params) as ClientGroup['params'],
  allowed_user_groups: JSON.parse(r.allowed_user_groups) as string[],
});

/** Client groups: the ClientGroupStore port plus the create/update/delete the API offers. */
export class SqliteClientGroupStore implements ClientGroupStore {
  constructor(private readonly db: SqliteDb) {}

  async get(id: string): Promise<ClientGroup | undefined> {
    const row = statement(this.db, 'SELECT * FROM client_groups WHERE id = ?').get(id) as Row | undefined;
    return row && groupOf(row);
  }

  async list(): Promise<ClientGroup[]> {
    return (statement(this.db, 'SELECT * FROM client_groups ORDER BY id').all() as Row[]).map(groupOf);
  }

  /** False when a group with this id exists already. */
  async create(g: ClientGroup): Promise<boolean> {
    const r = statement(
      this.db,
      'INSERT OR IGNORE INTO client_groups (id, description, params, allowed_user_groups) VALUES (?, ?, ?, ?)',
    ).run(g.id, g.description, JSON.stringify(g.params), JSON.stringify(g.allowed_user_groups));
    return r.changes === 1;
  }

  /** False when there is no such group. */
  async update(g: ClientGroup): Promise<boolean> {
    const r = statement(
      this.db,
      'UPDATE client_groups SET description = ?, params = ?, allowed_user_groups = ? WHERE id = ?',
    ).run(g.description, JSON.stringify(g.params), JSON.stringify(g.allowed_user_groups), g.id);
    return r.changes === 1;
  }

  async delete(id: string): Promise<boolean> {
    return statement(this.db, 'DELETE FROM client_groups WHERE id = ?').run(id).changes === 1;
  }
}
