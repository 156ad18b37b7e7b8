import type { AcceptedUpload } from '../../domain/accepted-upload.ts';
import type { KeptUpload, UploadArchive } from '../../ports/delivery-queue.ts';
import { json, sql, type PgDb } from './postgres-database.ts';

interface Row {
  upload: AcceptedUpload;
  staged: boolean;
  keep_until: Date | null;
}

const keptUntil = (d: Date | null): { keepUntil?: Date } => (d === null ? {} : { keepUntil: new Date(d) });

/**
 * Accepted uploads of every node, for the pushes that come later (queued targets, retries). A staged
 * file lives in the staging folder of the node that accepted the upload, so the staged-file part
 * (`staged`, its keeping time, its removal) is that node's: to another node the file is not there,
 * and another node's start or sweep never marks it removed.
 */
export class PostgresUploadArchive implements UploadArchive {
  constructor(
    private readonly db: PgDb,
    readonly nodeId: string,
  ) {}

  async save(upload: AcceptedUpload): Promise<void> {
    await sql(
      this.db,
      `INSERT INTO kept_uploads (uuid, upload, node_id) VALUES ($1, $2::json, $3) ON CONFLICT (uuid) DO NOTHING`,
      [upload.staged.uuid, json(upload), this.nodeId],
    );
  }

  async find(uuid: string): Promise<KeptUpload | undefined> {
    const { rows } = await sql<Row>(
      this.db,
      `SELECT upload, staged AND node_id = $2 AS staged, keep_until FROM kept_uploads WHERE uuid = $1`,
      [uuid, this.nodeId],
    );
    const r = rows[0];
    return r && { upload: r.upload, staged: r.staged, ...keptUntil(r.keep_until) };
  }

  async keepUntil(uuid: string, until: Date): Promise<void> {
    await sql(this.db, 'UPDATE kept_uploads SET keep_until = $1 WHERE uuid = $2 AND node_id = $3', [
      until,
      uuid,
      this.nodeId,
    ]);
  }

  async stagedRemoved(uuid: string): Promise<void> {
    await sql(this.db, 'UPDATE kept_uploads SET staged = false WHERE uuid = $1 AND node_id = $2', [
      uuid,
      this.nodeId,
    ]);
  }

  async withStagedFiles(): Promise<{ uuid: string; keepUntil?: Date }[]> {
    const { rows } = await sql<{ uuid: string; keep_until: Date | null }>(
      this.db,
      'SELECT uuid, keep_until FROM kept_uploads WHERE staged AND node_id = $1 ORDER BY seq',
      [this.nodeId],
    );
    return rows.map((r) => ({ uuid: r.uuid, ...keptUntil(r.keep_until) }));
  }
}
