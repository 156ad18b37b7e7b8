import type { AcceptedUpload } from '../../domain/accepted-upload.ts';
import type { KeptUpload, UploadArchive } from '../../ports/delivery-queue.ts';

/** Kept uploads in a Map, copied in and out like a database would, for the domain tests and the simulation. */
export class InMemoryUploadArchive implements UploadArchive {
  private readonly kept = new Map<string, KeptUpload>();

  async save(upload: AcceptedUpload): Promise<void> {
    if (!this.kept.has(upload.staged.uuid))
      this.kept.set(upload.staged.uuid, { upload: structuredClone(upload), staged: true });
  }

  async find(uuid: string): Promise<KeptUpload | undefined> {
    const k = this.kept.get(uuid);
    return k && structuredClone(k);
  }

  async keepUntil(uuid: string, until: Date): Promise<void> {
    const k = this.kept.get(uuid);
    if (k) k.keepUntil = new Date(until);
  }

  async stagedRemoved(uuid: string): Promise<void> {
    const k = this.kept.get(uuid);
    if (k) k.staged = false;
  }

  async withStagedFiles(): Promise<{ uuid: string; keepUntil?: Date }[]> {
    return [...this.kept.entries()]
      .filter(([, k]) => k.staged)
      .map(([uuid, k]) => ({ uuid, ...(k.keepUntil ? { keepUntil: new Date(k.keepUntil) } : {}) }));
  }
}
