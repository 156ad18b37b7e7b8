import type { PushOutcome } from '../../domain/outcome.ts';
import type { PendingTarget, PendingTargets, ResultStore } from '../../ports/result-store.ts';

interface Upload {
  requestedBy: string;
  targets: Map<string, PushOutcome | undefined>;
  /** Messages of pending targets (e.g. queued), and attempts beyond the first. */
  notes: Map<string, string>;
  attempts: Map<string, number>;
}

/** Per-upload, per-client results; a client's first final outcome is kept, later ones refused. */
export class InMemoryResultStore implements ResultStore, PendingTargets {
  private readonly uploads = new Map<string, Upload>();

  /**
   * requestedBy is not part of the port (the SQLite store learns it from the audit log): a test that
   * needs pendingTargets to name the user gives it here.
   */
  async begin(uuid: string, clientIds: string[], requestedBy = ''): Promise<void> {
    if (this.uploads.has(uuid)) throw new Error(`upload ${uuid} was already begun`);
    this.uploads.set(uuid, {
      requestedBy,
      targets: new Map(clientIds.map((id) => [id, undefined])),
      notes: new Map(),
      attempts: new Map(),
    });
  }

  async record(outcome: PushOutcome): Promise<boolean> {
    const upload = this.uploads.get(outcome.uuid);
    if (!upload) throw new Error(`unknown upload ${outcome.uuid}`);
    if (upload.targets.get(outcome.client_id) !== undefined) return false;
    upload.targets.set(outcome.client_id, { ...outcome });
    upload.notes.delete(outcome.client_id);
    return true;
  }

  async note(uuid: string, clientId: string, message: string): Promise<void> {
    const upload = this.uploads.get(uuid);
    if (upload?.targets.has(clientId) && upload.targets.get(clientId) === undefined)
      upload.notes.set(clientId, message);
  }

  async reopen(uuid: string): Promise<string[]> {
    const upload = this.uploads.get(uuid);
    if (!upload) return [];
    const failed = [...upload.targets.entries()].filter(([, o]) => o?.status === 'error').map(([id]) => id);
    for (const id of failed) {
      upload.targets.set(id, undefined);
      upload.notes.delete(id);
      upload.attempts.set(id, this.attempt(uuid, id) + 1);
    }
    return failed.sort();
  }

  /** 1 for the first push of a target, one more per retry. */
  attempt(uuid: string, clientId: string): number {
    return this.uploads.get(uuid)?.attempts.get(clientId) ?? 1;
  }

  /** The message of a pending target (e.g. that it is queued); empty when none. */
  noteOf(uuid: string, clientId: string): string {
    return this.uploads.get(uuid)?.notes.get(clientId) ?? '';
  }

  /** Every target still without a final outcome, in the order the uploads began. */
  async pendingTargets(): Promise<PendingTarget[]> {
    return [...this.uploads.entries()].flatMap(([uuid, u]) =>
      this.pending(uuid).map((client_id) => ({ uuid, client_id, requested_by: u.requestedBy })),
    );
  }

  /** The final outcomes of an upload so far, in target order. */
  outcomes(uuid: string): PushOutcome[] {
    return [...(this.uploads.get(uuid)?.targets.values() ?? [])].filter(
      (o): o is PushOutcome => o !== undefined,
    );
  }

  /** Targets of an upload still without a final outcome. */
  pending(uuid: string): string[] {
    return [...(this.uploads.get(uuid)?.targets.entries() ?? [])]
      .filter(([, o]) => o === undefined)
      .map(([id]) => id);
  }

  uuids(): string[] {
    return [...this.uploads.keys()];
  }
}
