import type { SharedStagedFiles } from '../../ports/shared-staged-files.ts';
import type { StagedFile, StagingStore } from '../../ports/staging-store.ts';
import { BranchStopped, LockstepTee } from './lockstep-tee.ts';

/** Reads a complete local staged file (FsStagingStore: a read stream of pathOf(uuid)). */
export type ReadStaged = (uuid: string) => AsyncIterable<Uint8Array>;

/**
 * The staging store of a cluster node: stages locally exactly as a single node does (same writer,
 * same hashes, same limit) and publishes the same bytes to the shared store in the same pass, the
 * two fed in lockstep from the upload. An upload is staged only when both hold it: when either side
 * fails, the other's copy is removed too and the first real cause is thrown (UploadTooLargeError
 * from the local side, EEXIST or SharedStagingUnavailableError from the shared one).
 *
 * remove() unpublishes as well, which is what a rejected or failed upload needs. sweep() is local
 * only: the bucket holds other nodes' live uploads.
 */
export class PublishingStagingStore implements StagingStore {
  constructor(
    private readonly local: StagingStore,
    private readonly shared: SharedStagedFiles,
    private readonly readLocal: ReadStaged,
    /**
     * Whether targets of the upload still wait, on any node, for the shared object: then remove()
     * leaves it, for the node that ends the last of them. Without it remove() always unpublishes.
     */
    private readonly stillNeeded: (uuid: string) => Promise<boolean> = () => Promise.resolve(false),
  ) {}

  async stage(uuid: string, content: AsyncIterable<Uint8Array>, maxBytes: number): Promise<StagedFile> {
    const tee = new LockstepTee(content, 2);
    const stopOthers = (e: unknown): never => {
      tee.abort(e);
      throw e;
    };
    const [local, shared] = await Promise.allSettled([
      this.local.stage(uuid, tee.branch(), maxBytes).catch(stopOthers),
      this.shared.put(uuid, tee.branch()).catch(stopOthers),
    ]);
    if (local.status === 'fulfilled' && shared.status === 'fulfilled') {
      const [a, b] = [local.value, shared.value];
      if (a.size === b.size && a.sha256 === b.sha256) return a;
      await this.removeBoth(uuid);
      throw new Error(
        `staged files: ${uuid} was staged with ${a.size} bytes, sha256 ${a.sha256}, ` +
          `but published with ${b.size} bytes, sha256 ${b.sha256}`,
      );
    }
    // Only a side that succeeded created something of this upload's; a failed side cleaned up itself.
    if (local.status === 'fulfilled') await this.local.remove(uuid);
    if (shared.status === 'fulfilled') await this.shared.remove(uuid);
    // The side that stopped first has the real cause; the other failed with it (abort passes it on)
    // or with BranchStopped.
    const reasons = [local, shared].flatMap((r) => (r.status === 'rejected' ? [r.reason as unknown] : []));
    throw reasons.find((e) => !(e instanceof BranchStopped)) ?? reasons[0];
  }

  /**
   * Moves the local file, then publishes it under the new uuid from the local copy (the object store
   * has no rename) and unpublishes the old one. A failure puts the local file back under its old
   * uuid, so the caller's cleanup of that uuid finds everything.
   */
  async rename(file: StagedFile, uuid: string): Promise<StagedFile> {
    const moved = await this.local.rename(file, uuid);
    let published = false;
    try {
      await this.shared.put(uuid, this.readLocal(uuid));
      published = true;
      await this.shared.remove(file.uuid);
    } catch (e) {
      if (published) await this.shared.remove(uuid).catch(() => undefined);
      await this.local.rename(moved, file.uuid);
      throw e;
    }
    return moved;
  }

  /**
   * Removes the local file, and the shared object unless other nodes' targets still need it; both
   * are attempted, the first failure is thrown.
   */
  async remove(uuid: string): Promise<void> {
    const results = await Promise.allSettled([
      this.local.remove(uuid),
      this.stillNeeded(uuid).then((needed) => (needed ? undefined : this.shared.remove(uuid))),
    ]);
    const failed = results.find((r) => r.status === 'rejected');
    if (failed) throw failed.reason;
  }

  async sweep(): Promise<number> {
    return this.local.sweep();
  }

  private async removeBoth(uuid: string): Promise<void> {
    const results = await Promise.allSettled([this.local.remove(uuid), this.shared.remove(uuid)]);
    const failed = results.find((r) => r.status === 'rejected');
    if (failed) throw failed.reason;
  }
}
