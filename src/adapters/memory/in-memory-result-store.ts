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

interface Target {
  outcome?: PushOutcome;
  updatedAt: Date;
  /** The message of a pending target (e.g. that it is queued). */
  note?: string;
  /** 1 for the first push, one more per retry. */
  attempt: number;
}

interface Upload {
  requestedBy: string;
  createdAt: Date;
  request: Record<string, unknown>;
  targets: Map<string, Target>;
}

/** What the SQLite store learns from the upload's audit entry; a test gives it to begin here. */
export interface UploadDetails {
  createdAt?: Date;
  request?: Record<string, unknown>;
}

/** Per-upload, per-client results; a client's first final outcome is kept, later ones refused. */
export class InMemoryResultStore implements ResultStore, UploadResults, PendingTargets {
  private readonly uploads = new Map<string, Upload>();

  /**
   * requestedBy and details are not part of the port (the SQLite store learns them from the audit
   * log): a test that needs pendingTargets or listUploads to name them gives them here.
   */
  async begin(
    uuid: string,
    clientIds: string[],
    requestedBy = '',
    details: UploadDetails = {},
  ): Promise<boolean> {
    if (this.uploads.has(uuid)) return false;
    const createdAt = details.createdAt ?? new Date();
    this.uploads.set(uuid, {
      requestedBy,
      createdAt,
      request: details.request ?? {},
      targets: new Map(clientIds.map((id) => [id, { updatedAt: createdAt, attempt: 1 }])),
    });
    return true;
  }

  async record(outcome: PushOutcome): Promise<boolean> {
    const upload = this.uploads.get(outcome.uuid);
    if (!upload) throw new Error(`unknown upload ${outcome.uuid}`);
    const target = upload.targets.get(outcome.client_id);
    if (target?.outcome !== undefined) return false;
    upload.targets.set(outcome.client_id, {
      outcome: { ...outcome },
      updatedAt: new Date(),
      attempt: target?.attempt ?? 1,
    });
    return true;
  }

  async note(uuid: string, clientId: string, message: string): Promise<void> {
    const target = this.uploads.get(uuid)?.targets.get(clientId);
    if (target && target.outcome === undefined) {
      target.note = message;
      target.updatedAt = new Date();
    }
  }

  async reopen(uuid: string): Promise<string[]> {
    const upload = this.uploads.get(uuid);
    if (!upload) return [];
    const failed = [...upload.targets.entries()].filter(([, t]) => t.outcome?.status === 'error');
    for (const [id, t] of failed) upload.targets.set(id, { updatedAt: new Date(), attempt: t.attempt + 1 });
    return failed.map(([id]) => id).sort();
  }

  /** 1 for the first push of a target, one more per retry. */
  attempt(uuid: string, clientId: string): number {
    return this.uploads.get(uuid)?.targets.get(clientId)?.attempt ?? 1;
  }

  /** The message of a pending target (e.g. that it is queued); empty when none. */
  noteOf(uuid: string, clientId: string): string {
    return this.uploads.get(uuid)?.targets.get(clientId)?.note ?? '';
  }

  async targets(uuid: string): Promise<StoredTarget[]> {
    return [...(this.uploads.get(uuid)?.targets.entries() ?? [])]
      .map(([client_id, t]) => ({
        client_id,
        status: t.outcome?.status ?? ('pending' as const),
        message: t.outcome?.message ?? t.note ?? '',
        filepath: t.outcome?.filepath ?? '',
        size: t.outcome?.size ?? 0,
        attempt: t.attempt,
        changed: t.outcome?.changed ?? null,
        ...(t.outcome?.backup === undefined ? {} : { backup: t.outcome.backup }),
        ...(t.outcome?.diff === undefined ? {} : { diff: t.outcome.diff }),
        updated_at: t.updatedAt.toISOString(),
      }))
      .sort((a, b) => (a.client_id < b.client_id ? -1 : a.client_id > b.client_id ? 1 : 0));
  }

  async listUploads(q: UploadQuery): Promise<{ uploads: ListedUpload[]; total: number }> {
    const all: ListedUpload[] = [];
    for (const [uuid, u] of this.uploads) {
      // As the SQLite store: a listing leaves the diffs out.
      const targets = (await this.targets(uuid)).map(({ diff: _diff, ...t }) => t);
      if (q.username !== undefined && u.requestedBy !== q.username) continue;
      if (q.since && u.createdAt < q.since) continue;
      if (q.until && u.createdAt >= q.until) continue;
      if (q.client_id !== undefined && !targets.some((t) => t.client_id === q.client_id)) continue;
      if (q.status !== undefined && !targets.some((t) => t.status === q.status)) continue;
      all.push({
        uuid,
        requested_by: u.requestedBy,
        created_at: u.createdAt.toISOString(),
        request: u.request,
        targets,
      });
    }
    // Insertion order breaks ties, as the SQLite store's row id does.
    if (q.order === 'desc') all.reverse();
    all.sort((a, b) => (q.order === 'asc' ? 1 : -1) * a.created_at.localeCompare(b.created_at));
    return { uploads: all.slice(q.offset, q.offset + q.limit), total: all.length };
  }

  /** Every target still without a final outcome, in the order the uploads began. */
  async pendingTargets(): Promise<PendingTarget[]> {
    return [...this.uploads.entries()].flatMap(([uuid, u]) =>
      this.pending(uuid).map((client_id) => ({ uuid, client_id, requested_by: u.requestedBy })),
    );
  }

  /** The final outcomes of an upload so far, in target order. */
  outcomes(uuid: string): PushOutcome[] {
    return [...(this.uploads.get(uuid)?.targets.values() ?? [])]
      .map((t) => t.outcome)
      .filter((o): o is PushOutcome => o !== undefined);
  }

  /** Targets of an upload still without a final outcome. */
  pending(uuid: string): string[] {
    return [...(this.uploads.get(uuid)?.targets.entries() ?? [])]
      .filter(([, t]) => t.outcome === undefined)
      .map(([id]) => id);
  }

  uuids(): string[] {
    return [...this.uploads.keys()];
  }
}
