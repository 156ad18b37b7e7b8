import type { ClaimOutcome, ClientKeyBinding, ClientKeys } from '../../ports/client-keys.ts';
import { iso, sql, type PgDb } from './postgres-database.ts';

interface Row {
  client_id: string;
  public_key: string;
  fingerprint: string;
  bound_at: Date;
}

const bindingOf = (r: Row): ClientKeyBinding => ({
  clientId: r.client_id,
  key: r.public_key,
  fingerprint: r.fingerprint,
  boundAt: iso(r.bound_at),
});

/** Which agent key each client id belongs to, shared by every node (table client_keys). */
export class PostgresClientKeys implements ClientKeys {
  constructor(private readonly db: PgDb) {}

  async keyOf(clientId: string): Promise<ClientKeyBinding | undefined> {
    const { rows } = await sql<Row>(this.db, 'SELECT * FROM client_keys WHERE client_id = $1', [clientId]);
    return rows[0] && bindingOf(rows[0]);
  }

  async claim(binding: ClientKeyBinding): Promise<{ outcome: ClaimOutcome; binding: ClientKeyBinding }> {
    // One statement that inserts only a free id: a claim racing on another node waits for the
    // first one's row, then finds it. Released between the two steps (by another node), the id is
    // free again and the claim starts over.
    for (;;) {
      const inserted = await sql(
        this.db,
        `INSERT INTO client_keys (client_id, public_key, fingerprint, bound_at) VALUES ($1, $2, $3, $4)
           ON CONFLICT (client_id) DO NOTHING`,
        [binding.clientId, binding.key, binding.fingerprint, binding.boundAt],
      );
      if (inserted.rowCount === 1) return { outcome: 'bound', binding: { ...binding } };
      const current = await this.keyOf(binding.clientId);
      if (current) return { outcome: current.key === binding.key ? 'matched' : 'mismatch', binding: current };
    }
  }

  async release(clientId: string): Promise<ClientKeyBinding | undefined> {
    const { rows } = await sql<Row>(this.db, 'DELETE FROM client_keys WHERE client_id = $1 RETURNING *', [
      clientId,
    ]);
    return rows[0] && bindingOf(rows[0]);
  }
}
