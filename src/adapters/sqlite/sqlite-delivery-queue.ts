import type { DeliveryQueue, QueuedTarget } from '../../ports/delivery-queue.ts';
import { statement, type SqliteDb } from './sqlite-database.ts';

interface Row {
  uuid: string;
  client_id: string;
  expires_at: string;
}

const targetOf = (r: Row): QueuedTarget => ({
  uuid: r.uuid,
  client_id: r.client_id,
  expires_at: new Date(r.expires_at),
});

/** The queue of targets waiting for their client, in rportd.db: it outlives a restart. */
export class SqliteDeliveryQueue implements DeliveryQueue {
  constructor(private readonly db: SqliteDb) {}

  async enqueue(t: QueuedTarget): Promise<void> {
    // An upsert that keeps the row (and so its place in the queue's order) when it was queued already.
    statement(
      this.db,
      `INSERT INTO delivery_queue (uuid, client_id, expires_at) VALUES (?, ?, ?)
         ON CONFLICT(uuid, client_id) DO UPDATE SET expires_at = excluded.expires_at`,
    ).run(t.uuid, t.client_id, t.expires_at.toISOString());
  }

  async remove(uuid: string, clientId: string): Promise<boolean> {
    return (
      statement(this.db, 'DELETE FROM delivery_queue WHERE uuid = ? AND client_id = ?').run(uuid, clientId)
        .changes === 1
    );
  }

  async forClient(clientId: string): Promise<QueuedTarget[]> {
    const rows = statement(
      this.db,
      'SELECT uuid, client_id, expires_at FROM delivery_queue WHERE client_id = ? ORDER BY rowid',
    ).all(clientId) as Row[];
    return rows.map(targetOf);
  }

  async all(): Promise<QueuedTarget[]> {
    const rows = statement(
      this.db,
      'SELECT uuid, client_id, expires_at FROM delivery_queue ORDER BY rowid',
    ).all() as Row[];
    return rows.map(targetOf);
  }

  /** rportd.db belongs to one node, so no one races for its targets: every one is this node's. */
  async claim(clientId: string): Promise<QueuedTarget[]> {
    return this.forClient(clientId);
  }

  /** Nothing to give back; true when the target is queued (and so was this node's). */
  async release(uuid: string, clientId: string): Promise<boolean> {
    return (
      statement(this.db, 'SELECT 1 FROM delivery_queue WHERE uuid = ? AND client_id = ?').get(
        uuid,
        clientId,
      ) !== undefined
    );
  }
}
