import type { PushOutcome } from '../../domain/outcome.ts';
import type {
  ListedUpload,
  PendingTarget,
  PendingTargets,
  ResultStore,
  StoredTarget,
  UploadQuery,
  UploadResults,
} from '../../ports/result-store.ts';
import { iso, sql, transaction, type PgDb } from './postgres-database.ts';

/**
 * The uploads a listing selects: each upload's `accepted` audit entry (who, when, what), written
 * right after its targets, filtered on its targets' rows. Every filter is bound, NULL meaning "any".
 */
const SELECTED = `FROM audit_log a
  WHERE a.application = 'uploads' AND a.action = 'accepted' AND a.client_id IS NULL AND a.upload_uuid IS NOT NULL
    AND ($1::text IS NULL OR a.username = $1)
    AND ($2::timestamptz IS NULL OR a.timestamp >= $2)
    AND ($3::timestamptz IS NULL OR a.timestamp < $3)
    AND ($4::text IS NULL OR EXISTS
      (SELECT 1 FROM upload_results r WHERE r.uuid = a.upload_uuid AND r.client_id = $4))
    AND ($5::text IS NULL OR EXISTS
      (SELECT 1 FROM upload_results r WHERE r.uuid = a.upload_uuid AND r.status = $5))`;

interface TargetRow extends Omit<StoredTarget, 'size' | 'diff' | 'backup' | 'updated_at'> {
  size: string;
  diff: string | null;
  backup: string | null;
  updated_at: Date;
}

/** A listing holds many uploads: it leaves their diffs, each up to tens of KiB, out (as SQLite's). */
const withoutDiffs = (targets: StoredTarget[]): StoredTarget[] => targets.map(({ diff: _diff, ...t }) => t);

/**
 * Per-upload, per-client results shared by every node; a client's first final outcome is kept.
 * Each pending target names the node pushing it (`node_id`: the node that began or reopened it).
 */
export class PostgresResultStore implements ResultStore, UploadResults, PendingTargets {
  constructor(
    private readonly db: PgDb,
    readonly nodeId: string,
  ) {
    if (!nodeId) throw new Error('the result store needs a node id');
  }

  /**
   * The uuid's row in `uploads` is the claim: of two nodes beginning the same uuid at once, the
   * second waits on the first's row and then inserts nothing.
   */
  async begin(uuid: string, clientIds: string[]): Promise<boolean> {
    return transaction(this.db, async (c) => {
      const claimed = await sql(
        c,
        'INSERT INTO uploads (uuid, begun_at) VALUES ($1, now()) ON CONFLICT (uuid) DO NOTHING',
        [uuid],
      );
      if (claimed.rowCount !== 1) return false;
      // An outcome recorded under a uuid never begun (record accepts it, as SQLite's does) is a use too.
      const known = await sql(c, 'SELECT 1 FROM upload_results WHERE uuid = $1 LIMIT 1', [uuid]);
      if (known.rowCount) throw new Rollback();
      await sql(
        c,
        `INSERT INTO upload_results (uuid, client_id, status, updated_at, node_id)
           SELECT $1, id, 'pending', now(), $3 FROM unnest($2::text[]) AS id ON CONFLICT DO NOTHING`,
        [uuid, clientIds, this.nodeId],
      );
      return true;
    }).catch((e) => {
      if (e instanceof Rollback) return false;
      throw e;
    });
  }

  async listUploads(q: UploadQuery): Promise<{ uploads: ListedUpload[]; total: number }> {
    const args = [
      q.username ?? null,
      q.since ?? null,
      q.until ?? null,
      q.client_id ?? null,
      q.status ?? null,
    ];
    const { rows: counted } = await sql<{ n: number }>(
      this.db,
      `SELECT COUNT(*)::integer AS n ${SELECTED}`,
      args,
    );
    const order = q.order === 'asc' ? 'ASC' : 'DESC';
    const { rows } = await sql<{
      uuid: string;
      requested_by: string;
      created_at: Date;
      request: Record<string, unknown>;
    }>(
      this.db,
      `SELECT a.upload_uuid AS uuid, a.username AS requested_by, a.timestamp AS created_at, a.request ${SELECTED}
         ORDER BY a.timestamp ${order}, a.id ${order} LIMIT $6 OFFSET $7`,
      [...args, q.limit, q.offset],
    );
    const uploads = await Promise.all(
      rows.map(async (r) => ({
        ...r,
        created_at: iso(r.created_at),
        targets: withoutDiffs(await this.targets(r.uuid)),
      })),
    );
    return { uploads, total: counted[0].n };
  }

  async record(o: PushOutcome): Promise<boolean> {
    const r = await sql(
      this.db,
      `INSERT INTO upload_results (uuid, client_id, status, message, filepath, size, changed, diff, backup, updated_at, pushed_by)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, now(), $10)
         ON CONFLICT (uuid, client_id) DO UPDATE SET status = excluded.status, message = excluded.message,
           filepath = excluded.filepath, size = excluded.size, changed = excluded.changed, diff = excluded.diff,
           backup = excluded.backup, updated_at = excluded.updated_at, pushed_by = excluded.pushed_by
         WHERE upload_results.status = 'pending'`,
      [
        o.uuid,
        o.client_id,
        o.status,
        o.message,
        o.filepath,
        o.size,
        o.changed,
        o.diff ?? null,
        o.backup ?? null,
        this.nodeId,
      ],
    );
    return r.rowCount === 1;
  }

  async note(uuid: string, clientId: string, message: string): Promise<void> {
    await sql(
      this.db,
      `UPDATE upload_results SET message = $1, updated_at = now()
         WHERE uuid = $2 AND client_id = $3 AND status = 'pending'`,
      [message, uuid, clientId],
    );
  }

  async reopen(uuid: string): Promise<string[]> {
    const { rows } = await sql<{ client_id: string }>(
      this.db,
      `UPDATE upload_results SET status = 'pending', message = '', filepath = '', size = 0, changed = NULL, diff = NULL,
         backup = NULL, attempt = attempt + 1, updated_at = now(), node_id = $2
         WHERE uuid = $1 AND status = 'error' RETURNING client_id`,
      [uuid, this.nodeId],
    );
    return rows.map((r) => r.client_id).sort();
  }

  /** Every target of an upload with its latest outcome; empty when the uuid is unknown. */
  async targets(uuid: string): Promise<StoredTarget[]> {
    const { rows } = await sql<TargetRow>(
      this.db,
      `SELECT client_id, status, message, filepath, size, attempt, changed, diff, backup, updated_at FROM upload_results
         WHERE uuid = $1 ORDER BY client_id COLLATE "C"`,
      [uuid],
    );
    return rows.map(({ diff, backup, ...r }) => ({
      ...r,
      size: Number(r.size),
      ...(diff === null ? {} : { diff }),
      ...(backup === null ? {} : { backup }),
      updated_at: iso(r.updated_at),
    }));
  }

  /**
   * The targets still pending that this node is pushing, oldest upload first: at a node's start,
   * those its previous run left. Targets other nodes push are live, not stranded, and stay; those
   * with no node (begun before the schema named one) are ended by whichever node starts first.
   * Who asked comes from the upload's `accepted` audit entry (empty if a crash came between the
   * targets and that entry).
   */
  async pendingTargets(): Promise<PendingTarget[]> {
    const { rows } = await sql<PendingTarget>(
      this.db,
      `SELECT r.uuid, r.client_id, COALESCE(
           (SELECT a.username FROM audit_log a
             WHERE a.upload_uuid = r.uuid AND a.action = 'accepted' AND a.client_id IS NULL LIMIT 1), ''
         ) AS requested_by
         FROM upload_results r WHERE r.status = 'pending' AND (r.node_id = $1 OR r.node_id IS NULL)
         ORDER BY r.updated_at, r.uuid COLLATE "C", r.client_id COLLATE "C"`,
      [this.nodeId],
    );
    return rows;
  }
}

/** Thrown inside begin's transaction to undo its claim of a uuid already used. */
class Rollback extends Error {}
