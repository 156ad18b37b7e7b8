import type { ClientCredentials } from '../../ports/client-credentials.ts';
import { hashPassword, UNKNOWN_USER_HASH, verifyPassword } from './password-hash.ts';
import { statement, type SqliteDb } from './sqlite-database.ts';

/** Client credentials kept in the database as scrypt hashes (used when rportd.conf sets neither auth nor auth_file). */
export class SqliteClientCredentials implements ClientCredentials {
  constructor(private readonly db: SqliteDb) {}

  async set(id: string, password: string): Promise<void> {
    const hash = await hashPassword(password);
    statement(
      this.db,
      'INSERT INTO client_credentials (id, password_hash) VALUES (?, ?) ON CONFLICT(id) DO UPDATE SET password_hash = excluded.password_hash',
    ).run(id, hash);
  }

  /** Adds a credential; false (and nothing changed) when the id exists already. */
  async add(id: string, password: string): Promise<boolean> {
    const hash = await hashPassword(password);
    return (
      statement(
        this.db,
        'INSERT INTO client_credentials (id, password_hash) VALUES (?, ?) ON CONFLICT(id) DO NOTHING',
      ).run(id, hash).changes === 1
    );
  }

  async list(): Promise<string[]> {
    return (
      statement(this.db, 'SELECT id FROM client_credentials ORDER BY id').all() as { id: string }[]
    ).map((r) => r.id);
  }

  async remove(id: string): Promise<boolean> {
    return statement(this.db, 'DELETE FROM client_credentials WHERE id = ?').run(id).changes === 1;
  }

  async verify(credentialId: string, password: string): Promise<boolean> {
    const row = statement(this.db, 'SELECT password_hash FROM client_credentials WHERE id = ?').get(
      credentialId,
    ) as { password_hash: string } | undefined;
    // An unknown id costs the same scrypt as a known one.
    const ok = await verifyPassword(password, row?.password_hash ?? UNKNOWN_USER_HASH);
    return ok && row !== undefined;
  }
}
