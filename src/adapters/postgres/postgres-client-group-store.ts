import type { ClientGroup } from '../../domain/client-group.ts';
import type { ClientGroupEditor } from '../../ports/client-group-store.ts';
import { json, sql, type PgDb } from './postgres-database.ts';

type Row = ClientGroup;

const groupOf = (r: Row): ClientGroup => ({
  id: r.id,
  description: r.description,
  params: r.params,
  allowed_user_groups: r.allowed_user_groups,
});

/** Client groups: the ClientGroupStore port plus the create/update/delete the API offers. */
export class PostgresClientGroupStore implements ClientGroupEditor {
  constructor(private readonly db: PgDb) {}

  async get(id: string): Promise<ClientGroup | undefined> {
    const { rows } = await sql<Row>(this.db, 'SELECT * FROM client_groups WHERE id = $1', [id]);
    return rows[0] && groupOf(rows[0]);
  }

  async list(): Promise<ClientGroup[]> {
    const { rows } = await sql<Row>(this.db, 'SELECT * FROM client_groups ORDER BY id COLLATE "C"');
    return rows.map(groupOf);
  }

  /** False when a group with this id exists already. */
  async create(g: ClientGroup): Promise<boolean> {
    const r = await sql(
      this.db,
      `INSERT INTO client_groups (id, description, params, allowed_user_groups) VALUES ($1, $2, $3::json, $4::json)
         ON CONFLICT (id) DO NOTHING`,
      [g.id, g.description, json(g.params), json(g.allowed_user_groups)],
    );
    return r.rowCount === 1;
  }

  /** False when there is no such group. */
  async update(g: ClientGroup): Promise<boolean> {
    const r = await sql(
      this.db,
      'UPDATE client_groups SET description = $1, params = $2::json, allowed_user_groups = $3::json WHERE id = $4',
      [g.description, json(g.params), json(g.allowed_user_groups), g.id],
    );
    return r.rowCount === 1;
  }

  async delete(id: string): Promise<boolean> {
    return (await sql(this.db, 'DELETE FROM client_groups WHERE id = $1', [id])).rowCount === 1;
  }
}
