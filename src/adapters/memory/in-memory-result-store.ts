import type { PushOutcome } from '../../domain/outcome.ts';
import type { ResultStore } from '../../ports/result-store.ts';

/** Per-upload, per-client results; a client's first final outcome is kept, later ones refused. */
export class InMemoryResultStore implements ResultStore {
  private readonly uploads = new Map<string, Map<string, PushOutcome | undefined>>();

  async begin(uuid: string, clientIds: string[]): Promise<void> {
    if (this.uploads.has(uuid)) throw new Error(`upload ${uuid} was already begun`);
    this.uploads.set(uuid, new Map(clientIds.map((id) => [id, undefined])));
  }

  async record(outcome: PushOutcome): Promise<boolean> {
    const upload = this.uploads.get(outcome.uuid);
    if (!upload) throw new Error(`unknown upload ${outcome.uuid}`);
    if (upload.get(outcome.client_id) !== undefined) return false;
    upload.set(outcome.client_id, { ...outcome });
    return true;
  }

  /** The final outcomes of an upload so far, in target order. */
  outcomes(uuid: string): PushOutcome[] {
    return [...(this.uploads.get(uuid)?.values() ?? [])].filter((o): o is PushOutcome => o !== undefined);
  }

  /** Targets of an upload still without a final outcome. */
  pending(uuid: string): string[] {
    return [...(this.uploads.get(uuid)?.entries() ?? [])]
      .filter(([, o]) => o === undefined)
      .map(([id]) => id);
  }

  uuids(): string[] {
    return [...this.uploads.keys()];
  }
}
