import type { OpenTargets } from '../ports/cluster-routing.ts';
import type { Logger } from '../ports/logger.ts';
import type { SharedStagedFiles } from '../ports/shared-staged-files.ts';
import type { StagingStore } from '../ports/staging-store.ts';
import { errorCode, messageOf } from './errors.ts';

/**
 * Server, on a cluster node: the local copies of uploads another node accepted, and the end of their
 * shared objects. A copy is fetched once however many of this node's targets need it at once, and
 * removed when the last of them is done; the shared object goes once no target of the upload waits
 * on any node.
 */
export class SharedCopies {
  /** Pushes using each local copy now. */
  private readonly users = new Map<string, number>();
  /** Copies being removed: a new user waits for the removal, then fetches again. */
  private readonly removing = new Map<string, Promise<void>>();

  constructor(
    private readonly shared: SharedStagedFiles,
    /** This node's own staging folder, without publishing: removing a copy leaves the object. */
    private readonly local: StagingStore,
    private readonly open: OpenTargets,
    private readonly logger: Logger,
  ) {}

  /** Makes the upload's file servable here, for one push; false when its shared object is gone. */
  async acquire(uuid: string): Promise<boolean> {
    this.users.set(uuid, (this.users.get(uuid) ?? 0) + 1);
    try {
      await this.removing.get(uuid);
      await this.shared.fetchToLocal(uuid);
      return true;
    } catch (e) {
      await this.release(uuid);
      if (errorCode(e) === 'ENOENT') return false;
      throw e;
    }
  }

  /** The end of one push's use; the last one removes the local copy. */
  async release(uuid: string): Promise<void> {
    const left = (this.users.get(uuid) ?? 1) - 1;
    if (left > 0) {
      this.users.set(uuid, left);
      return;
    }
    this.users.delete(uuid);
    const removal = this.local.remove(uuid).finally(() => this.removing.delete(uuid));
    this.removing.set(uuid, removal);
    await removal;
  }

  /**
   * After a final outcome: removes the shared object once no target of the upload waits anywhere.
   * Of nodes ending the last targets at once, at least one sees none left; removal is idempotent.
   */
  async settle(uuid: string): Promise<void> {
    try {
      if (!(await this.open.anyOpen(uuid))) await this.shared.remove(uuid);
    } catch (e) {
      this.logger.error({ uuid, err: messageOf(e) }, 'removing the shared staged object failed');
    }
  }
}
