import type { AuditLog } from '../ports/audit-log.ts';
import type { ClientGroupStore } from '../ports/client-group-store.ts';
import type { ClientRegistry } from '../ports/client-registry.ts';
import type { Clock } from '../ports/clock.ts';
import type { IdGenerator } from '../ports/id-generator.ts';
import type { ResultStore } from '../ports/result-store.ts';
import { UploadTooLargeError, type StagedFile, type StagingStore } from '../ports/staging-store.ts';
import { MalformedFormError, type UploadForm } from '../ports/upload-form.ts';
import type { AcceptedUpload } from './accepted-upload.ts';
import { mayAccessClient, type Caller } from './caller.ts';
import { clientsOfGroup } from './client-group.ts';
import { messageOf } from './errors.ts';
import type { DispatchToClients } from './dispatch-to-clients.ts';
import { parseUploadFields, type UploadParameters } from './upload-fields.ts';
import type { UploadRejection } from './upload-rejection.ts';

interface Received {
  staged: StagedFile;
  filename: string;
  params: UploadParameters;
}

const isRejection = (x: object): x is UploadRejection => 'kind' in x;

export type AcceptResult =
  | {
      ok: true;
      upload: AcceptedUpload;
      /** settles when every target has its outcome */ distributed: Promise<void>;
    }
  | { ok: false; rejection: UploadRejection };

/**
 * Server: validates an upload, stages the file while hashing it, resolves the target clients,
 * audits, and hands over to dispatch. A rejected upload leaves nothing staged.
 */
export class AcceptUpload {
  constructor(
    private readonly staging: StagingStore,
    private readonly clients: ClientRegistry,
    private readonly groups: ClientGroupStore,
    private readonly results: ResultStore,
    private readonly audit: AuditLog,
    private readonly dispatch: DispatchToClients,
    private readonly ids: IdGenerator,
    private readonly clock: Clock,
    private readonly maxBytes: number,
  ) {}

  async execute(caller: Caller, form: UploadForm): Promise<AcceptResult> {
    const uuid = this.ids.newId();
    const received = await this.receive(caller, uuid, form).catch(async (e: unknown) => {
      // A failed upload is audited too (promise 6), then the error goes on to the adapter.
      await this.audit.record({
        timestamp: this.clock.now(),
        application: 'uploads',
        action: 'failed',
        username: caller.username,
        upload_uuid: uuid,
        request: { reason: messageOf(e) },
      });
      throw e;
    });
    const targets = isRejection(received) ? received : await this.resolve(caller, received.params);
    if (isRejection(targets)) {
      await this.staging.remove(uuid);
      await this.auditRejected(caller, uuid, targets);
      return { ok: false, rejection: targets };
    }
    const { staged, filename, params } = received as Received;
    const upload: AcceptedUpload = {
      staged,
      filename,
      destination: params.destination,
      force: params.force,
      sync: params.sync,
      mode: params.mode,
      ownership: params.ownership,
      targets,
      requestedBy: caller.username,
    };
    await this.results.begin(uuid, upload.targets);
    await this.audit.record({
      timestamp: this.clock.now(),
      application: 'uploads',
      action: 'accepted',
      username: caller.username,
      upload_uuid: uuid,
      request: {
        filename,
        dest: upload.destination,
        size: staged.size,
        md5: staged.md5,
        sha256: staged.sha256,
        force: upload.force,
        sync: upload.sync,
        mode: upload.mode,
        ...upload.ownership,
        client_ids: upload.targets,
        group_ids: params.targets.groupIds,
      },
    });
    return { ok: true, upload, distributed: this.dispatch.execute(upload) };
  }

  /**
   * Reads the form in arrival order: the file may come before or after the text fields. Fields that
   * come first are checked before the file is read (earlyRejection), so a mistyped client id is
   * answered at once, not after the whole file was sent, staged and hashed.
   */
  private async receive(caller: Caller, uuid: string, form: UploadForm): Promise<Received | UploadRejection> {
    const fields = new Map<string, string[]>();
    let staged: StagedFile | undefined;
    let filename = '';
    try {
      for await (const part of form.parts()) {
        if (part.kind === 'field') fields.set(part.name, [...(fields.get(part.name) ?? []), part.value]);
        else if (part.name !== 'upload')
          return {
            kind: 'invalid',
            field: part.name,
            detail: `unexpected file part "${part.name}"; the file goes in the part named upload`,
          };
        else if (staged)
          return {
            kind: 'invalid',
            field: 'upload',
            detail: 'more than one file was sent; send one file per upload',
          };
        else {
          const early = await this.earlyRejection(caller, fields);
          if (early) return early;
          filename = part.filename;
          staged = await this.staging.stage(uuid, part.content, this.maxBytes);
        }
      }
    } catch (e) {
      if (e instanceof UploadTooLargeError) {
        return {
          kind: 'too-large',
          field: 'upload',
          detail: `the file is larger than max_filepush_size (${e.limit} bytes)`,
        };
      }
      if (e instanceof MalformedFormError)
        return { kind: 'malformed', field: 'upload', detail: `malformed multipart body: ${e.message}` };
      await this.staging.remove(uuid);
      throw e;
    }
    const params = parseUploadFields(fields);
    if ('kind' in params) return params;
    if (!staged)
      return {
        kind: 'invalid',
        field: 'upload',
        detail: 'upload is required: attach the file as the multipart part named upload',
      };
    return { staged, filename, params };
  }

  /**
   * What is already wrong with the fields sent before the file, and that no later field can mend: a
   * field with a bad value, an unknown or forbidden client or group. A field still missing is not
   * (it may come after the file), nor is a group with no clients (a client_id may follow).
   */
  private async earlyRejection(
    caller: Caller,
    fields: Map<string, string[]>,
  ): Promise<UploadRejection | undefined> {
    const params = parseUploadFields(fields);
    if ('kind' in params) return fields.has(params.field) ? params : undefined;
    const targets = await this.resolve(caller, params);
    return isRejection(targets) && (targets.kind === 'not-found' || targets.kind === 'forbidden')
      ? targets
      : undefined;
  }

  /** Expands groups, checks every client exists and that the caller may reach it. Returns client ids. */
  private async resolve(caller: Caller, params: UploadParameters): Promise<string[] | UploadRejection> {
    const allGroups = await this.groups.list();
    const targets = new Map<string, Awaited<ReturnType<ClientRegistry['get']>>>();
    for (const id of params.targets.clientIds) {
      const client = await this.clients.get(id);
      if (!client) return { kind: 'not-found', field: 'client_id', detail: `unknown client_id "${id}"` };
      if (!mayAccessClient(caller, client, allGroups)) {
        return {
          kind: 'forbidden',
          field: 'client_id',
          detail: `user ${caller.username} may not push to client ${id}`,
        };
      }
      targets.set(id, client);
    }
    if (params.targets.groupIds.length > 0) {
      const everyone = await this.clients.list();
      for (const gid of params.targets.groupIds) {
        const group = await this.groups.get(gid);
        if (!group) return { kind: 'not-found', field: 'group_id', detail: `unknown group_id "${gid}"` };
        const allowed = caller.admin || group.allowed_user_groups.some((g) => caller.groups.includes(g));
        if (!allowed)
          return {
            kind: 'forbidden',
            field: 'group_id',
            detail: `user ${caller.username} may not push to client group ${gid}`,
          };
        for (const c of clientsOfGroup(group, everyone)) targets.set(c.id, c);
      }
    }
    if (targets.size === 0)
      return {
        kind: 'invalid',
        field: 'group_id',
        detail: 'the given client groups hold no clients: nothing to push to',
      };
    return [...targets.keys()];
  }

  private async auditRejected(caller: Caller, uuid: string, why: UploadRejection): Promise<void> {
    await this.audit.record({
      timestamp: this.clock.now(),
      application: 'uploads',
      action: 'rejected',
      username: caller.username,
      upload_uuid: uuid,
      request: { field: why.field, reason: why.kind, detail: why.detail },
    });
  }
}
