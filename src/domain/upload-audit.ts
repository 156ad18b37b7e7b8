import type { AuditLog } from '../ports/audit-log.ts';
import type { Clock } from '../ports/clock.ts';
import type { AcceptedUpload } from './accepted-upload.ts';
import type { AuditEntry } from './audit-entry.ts';
import type { Caller } from './caller.ts';
import { messageOf } from './errors.ts';
import type { UploadRejection } from './upload-rejection.ts';

/** The audit line of every upload, accepted, rejected or failed. It never holds the file content. */
export class UploadAudit {
  constructor(
    private readonly log: AuditLog,
    private readonly clock: Clock,
  ) {}

  accepted(caller: Caller, uuid: string, upload: AcceptedUpload, groupIds: string[]): Promise<void> {
    return this.record(caller, uuid, 'accepted', {
      filename: upload.filename,
      dest: upload.destination,
      size: upload.staged.size,
      md5: upload.staged.md5,
      sha256: upload.staged.sha256,
      force: upload.force,
      sync: upload.sync,
      mode: upload.mode,
      ...upload.ownership,
      client_ids: upload.targets,
      group_ids: groupIds,
      ...(upload.validate === undefined ? {} : { validate: upload.validate }),
      ...(upload.backup === undefined ? {} : { backup: upload.backup }),
      ...(upload.check ? { check: true } : {}),
      ...(upload.diff ? { diff: true } : {}),
      ...(upload.offlineTtl === undefined ? {} : { offline_ttl: upload.offlineTtl }),
    });
  }

  rejected(caller: Caller, uuid: string, why: UploadRejection): Promise<void> {
    return this.record(caller, uuid, 'rejected', { field: why.field, reason: why.kind, detail: why.detail });
  }

  failed(caller: Caller, uuid: string, error: unknown): Promise<void> {
    return this.record(caller, uuid, 'failed', { reason: messageOf(error) });
  }

  private record(
    caller: Caller,
    uuid: string,
    action: string,
    request: AuditEntry['request'],
  ): Promise<void> {
    return this.log.record({
      timestamp: this.clock.now(),
      application: 'uploads',
      action,
      username: caller.username,
      upload_uuid: uuid,
      request,
    });
  }
}
