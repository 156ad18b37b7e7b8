import type { ClientCredentialEditor, ClientCredentials } from '../../ports/client-credentials.ts';
import { hashPassword, UNKNOWN_USER_HASH, verifyPassword } from '../sqlite/password-hash.ts';
import { sql, type PgDb } from './postgres-database.ts';

/** Client credentials kept in the shared database as scrypt hashes. */
export class PostgresClientCredentials implements ClientCredentials, ClientCredentialEditor {
  constructor(private readonly db: PgDb) {}

  async set(id: string, password: string): Promise<void> {
    const hash = await hashPassword(password);
    await sql(
      this.db,
      `INSERT INTO client_credentials (id, password_hash) VALUES ($1, $2)
         ON CONFLICT (id) DO UPDATE SET password_hash = excluded.password_hash`,
      [id, hash],
    );
  }

  /** Adds a credential; false (and nothing changed) when the id exists already. */
  async add(id: string, password: string): Promise<boolean> {
    const hash = await hashPassword(password);
    const r = await sql(
      this.db,
      'INSERT INTO client_credentials (id, password_hash) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING',
      [id, hash],
    );
    return r.rowCount === 1;
  }

  async list(): Promise<string[]> {
    const { rows } = await sql<{ id: string }>(
      this.db,
      'SELECT id FROM client_credentials ORDER BY id COLLATE "C"',
    );
    return rows.map((r) => r.id);
  }

  async remove(id: string): Promise<boolean> {
    return (await sql(this.db, 'DELETE FROM client_credentials WHERE id = $1', [id])).rowCount === 1;
  }

  async verify(credentialId: string, password: string): Promise<boolean> {
    const { rows } = await sql<{ password_hash: string }>(
      this.db,
      'SELECT password_hash FROM client_credentials WHERE id = $1',
      [credentialId],
    );
    // An unknown id costs the same scrypt as a known one.
    const ok = await verifyPassword(password, rows[0]?.password_hash ?? UNKNOWN_USER_HASH);
    return ok && rows[0] !== undefined;
  }
}
