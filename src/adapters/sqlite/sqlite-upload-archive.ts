import type { AcceptedUpload } from '../../domain/accepted-upload.ts';
import type { KeptUpload, UploadArchive } from '../../ports/delivery-queue.ts';
import { statement, type SqliteDb } from './sqlite-database.ts';

interface Row {
  upload: string;
  staged: number;
  keep_until: string | null;
}

/** Accepted uploads as JSON in rportd.db, for the pushes that come later (queued targets, retries). */
export class SqliteUploadArchive implements UploadArchive {
  constructor(private readonly db: SqliteDb) {}

  async save(upload: AcceptedUpload): Promise<void> {
    statement(this.db, 'INSERT OR IGNORE INTO kept_uploads (uuid, upload) VALUES (?, ?)').run(
      upload.staged.uuid,
      JSON.stringify(upload),
    );
  }

  async find(uuid: string): Promise<KeptUpload | undefined> {
    const r = statement(this.db, 'SELECT upload, staged, keep_until FROM kept_uploads WHERE uuid = ?').get(
      uuid,
    ) as Row | undefined;
    if (!r) return undefined;
    return {
      upload: JSON.parse(r.upload) as AcceptedUpload,
      staged: r.staged === 1,
      ...(r.keep_until === null ? {} : { keepUntil: new Date(r.keep_until) }),
    };
  }

  async keepUntil(uuid: string, until: Date): Promise<void> {
    statement(this.db, 'UPDATE kept_uploads SET keep_until = ? WHERE uuid = ?').run(
      until.toISOString(),
      uuid,
    );
  }

  async stagedRemoved(uuid: string): Promise<void> {
    statement(this.db, 'UPDATE kept_uploads SET staged = 0 WHERE uuid = ?').run(uuid);
  }

  async withStagedFiles(): Promise<{ uuid: string; keepUntil?: Date }[]> {
    const rows = statement(
      this.db,
      'SELECT uuid, keep_until FROM kept_uploads WHERE staged = 1 ORDER BY rowid',
    ).all() as { uuid: string; keep_until: string | null }[];
    return rows.map((r) => ({
      uuid: r.uuid,
      ...(r.keep_until === null ? {} : { keepUntil: new Date(r.keep_until) }),
    }));
  }
}
