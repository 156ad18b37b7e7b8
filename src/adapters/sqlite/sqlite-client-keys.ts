import type { ClaimOutcome, ClientKeyBinding, ClientKeys } from '../../ports/client-keys.ts';
import { statement, type SqliteDb } from './sqlite-database.ts';

interface Row {
  client_id: string;
  public_key: string;
  fingerprint: string;
  bound_at: string;
}

const bindingOf = (r: Row): ClientKeyBinding => ({
  clientId: r.client_id,
  key: r.public_key,
  fingerprint: r.fingerprint,
  boundAt: r.bound_at,
});

/** Which agent key each client id belongs to, in rportd.db (table client_keys). */
export class SqliteClientKeys implements ClientKeys {
  constructor(private readonly db: SqliteDb) {}

  async keyOf(clientId: string): Promise<ClientKeyBinding | undefined> {
    const row = statement(this.db, 'SELECT * FROM client_keys WHERE client_id = ?').get(clientId) as
      Row | undefined;
    return row && bindingOf(row);
  }

  async claim(binding: ClientKeyBinding): Promise<{ outcome: ClaimOutcome; binding: ClientKeyBinding }> {
    // One statement that inserts only a free id: a racing claim for the same id finds the first one's row.
    const inserted = statement(
      this.db,
      `INSERT INTO client_keys (client_id, public_key, fingerprint, bound_at) VALUES (?, ?, ?, ?)
         ON CONFLICT(client_id) DO NOTHING`,
    ).run(binding.clientId, binding.key, binding.fingerprint, binding.boundAt);
    if (inserted.changes === 1) return { outcome: 'bound', binding: { ...binding } };
    const current = (await this.keyOf(binding.clientId))!;
    return { outcome: current.key === binding.key ? 'matched' : 'mismatch', binding: current };
  }

  async release(clientId: string): Promise<ClientKeyBinding | undefined> {
    const row = statement(this.db, 'DELETE FROM client_keys WHERE client_id = ? RETURNING *').get(
      clientId,
    ) as Row | undefined;
    return row && bindingOf(row);
  }
}
