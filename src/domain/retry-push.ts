import type { AuditLog } from '../ports/audit-log.ts';
import type { Clock } from '../ports/clock.ts';
import type { UploadArchive } from '../ports/delivery-queue.ts';
import type { ResultStore } from '../ports/result-store.ts';
import { mayReadUpload, type Caller } from './caller.ts';
import type { DispatchToClients } from './dispatch-to-clients.ts';
import type { StagedRetention } from './staged-retention.ts';

export type RetryRefusal = 'not-found' | 'forbidden' | 'gone' | 'nothing-failed';

export type RetryResult =
  | {
      ok: true;
      uuid: string;
      /** The targets pushed again, each one attempt more. */
      targets: string[];
      /** Settles when each has its outcome or is queued. */
      distributed: Promise<void>;
    }
  | { ok: false; refusal: RetryRefusal; detail: string };

/**
 * Server: pushes a kept upload again to its targets whose outcome was `error`, while its staged
 * file is still kept (`[server] keep_staged_for`). The same users may retry as may read the upload:
 * administrators, and the user who made it. Each retry is audited.
 */
export class RetryPush {
  constructor(
    private readonly archive: UploadArchive,
    private readonly results: ResultStore,
    private readonly retention: StagedRetention,
    private readonly dispatch: DispatchToClients,
    private readonly audit: AuditLog,
    private readonly clock: Clock,
  ) {}

  async execute(caller: Caller, uuid: string): Promise<RetryResult> {
    const kept = await this.archive.find(uuid);
    if (!kept)
      return { ok: false, refusal: 'not-found', detail: `uuid: no upload ${uuid} that can be retried` };
    const upload = kept.upload;
    if (!mayReadUpload(caller, upload.requestedBy))
      return { ok: false, refusal: 'forbidden', detail: `uuid: upload ${uuid} belongs to another user` };
    if (!(await this.retention.acquire(uuid)))
      return {
        ok: false,
        refusal: 'gone',
        detail: `uuid: the staged file of upload ${uuid} is gone (kept for [server] keep_staged_for after the push); upload it again`,
      };
    let targets: string[];
    try {
      targets = await this.results.reopen(uuid);
    } catch (e) {
      await this.retention.release(uuid);
      throw e;
    }
    if (targets.length === 0) {
      await this.retention.release(uuid);
      return {
        ok: false,
        refusal: 'nothing-failed',
        detail: `uuid: no target of upload ${uuid} has the outcome error; nothing to retry`,
      };
    }
    await this.audit.record({
      timestamp: this.clock.now(),
      application: 'uploads',
      action: 'retry',
      username: caller.username,
      upload_uuid: uuid,
      request: { targets, filepath: upload.destination, requested_by: upload.requestedBy },
    });
    return { ok: true, uuid, targets, distributed: this.dispatch.redeliver(upload, targets) };
  }
}
