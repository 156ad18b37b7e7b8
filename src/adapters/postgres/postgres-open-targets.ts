import type { OpenTargets } from '../../ports/cluster-routing.ts';
import { sql, type PgDb } from './postgres-database.ts';

/** Whether an upload has a target without its final outcome, on any node (a queued one is pending too). */
export class PostgresOpenTargets implements OpenTargets {
  constructor(private readonly db: PgDb) {}

  async anyOpen(uuid: string): Promise<boolean> {
    const { rows } = await sql<{ open: boolean }>(
      this.db,
      `SELECT EXISTS (SELECT 1 FROM upload_results WHERE uuid = $1 AND status = 'pending')
           OR EXISTS (SELECT 1 FROM delivery_queue WHERE uuid = $1) AS open`,
      [uuid],
    );
    return rows[0]?.open === true;
  }
}
