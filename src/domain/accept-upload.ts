import type { AuditLog } from '../ports/audit-log.ts';
import type { ClientGroupStore } from '../ports/client-group-store.ts';
import type { ClientRegistry } from '../ports/client-registry.ts';
import type { Clock } from '../ports/clock.ts';
import type { IdGenerator } from '../ports/id-generator.ts';
import type { ResultStore } from '../ports/result-store.ts';
import type { StagedFile, StagingStore } from '../ports/staging-store.ts';
import type { UploadForm } from '../ports/upload-form.ts';
import type { AcceptedUpload } from './accepted-upload.ts';
import type { Caller } from './caller.ts';
import type { DispatchToClients } from './dispatch-to-clients.ts';
import { errorCode } from './errors.ts';
import { FormFields } from './form-fields.ts';
import { UploadAudit } from './upload-audit.ts';
import { refusalOfBody, wrongFilePart } from './upload-body.ts';
import type { FieldRules, UploadParameters } from './upload-fields.ts';
import { passed, refused, type OrRefused, type Refused, type UploadRejection } from './upload-rejection.ts';
import { resolveTargets } from './upload-targets.ts';

interface ReceivedFile {
  staged: StagedFile;
  filename: string;
}

interface Received {
  file: ReceivedFile;
  params: UploadParameters;
  targets: string[];
}

export type AcceptResult = (
  | {
      ok: true;
      upload: AcceptedUpload;
      /** settles when every target has its outcome */ distributed: Promise<void>;
    }
  | Refused
) & {
  /** Form fields the upload does not read (ignored, as openrport ignores them). */
  ignoredFields?: string[];
};

/** The name under which this attempt holds a staged file, if it holds one. */
interface Staging {
  key?: string;
}

const idInUse = (id: string): Refused =>
  refused('conflict', 'id', `id "${id}" is already used by another upload; give a new UUID or leave id out`);

/**
 * Server: validates an upload, stages the file while hashing it, resolves the target clients,
 * audits, and hands over to dispatch. A rejected upload leaves nothing staged.
 */
export class AcceptUpload {
  private readonly audit: UploadAudit;

  constructor(
    private readonly staging: StagingStore,
    private readonly clients: ClientRegistry,
    private readonly groups: ClientGroupStore,
    private readonly results: ResultStore,
    audit: AuditLog,
    private readonly dispatch: DispatchToClients,
    private readonly ids: IdGenerator,
    clock: Clock,
    /** `[server] max_filepush_size`: the file's bytes. */
    readonly maxBytes: number,
    private readonly rules?: FieldRules,
  ) {
    this.audit = new UploadAudit(audit, clock);
  }

  /**
   * Refusals and failures are audited under this attempt's own uuid; an accepted upload under the
   * caller's id when one was given (openrport's `id`), else under that same uuid.
   */
  async execute(caller: Caller, form: UploadForm): Promise<AcceptResult> {
    const attempt = this.ids.newId();
    const fields = new FormFields(
      (selector) => resolveTargets(caller, selector, this.clients, this.groups),
      this.rules,
    );
    const held: Staging = {};
    const received = await this.receive(fields, attempt, held, form)
      .then((r) => (r.ok ? this.claim(r.value, held) : r))
      .catch(async (e: unknown) => {
        if (held.key !== undefined) await this.staging.remove(held.key);
        // A failed upload is audited too (promise 6), then the error goes on to the adapter.
        await this.audit.failed(caller, attempt, e);
        throw e;
      });
    const ignoredFields = fields.ignored();
    if (!received.ok) {
      if (held.key !== undefined) await this.staging.remove(held.key);
      await this.audit.rejected(caller, attempt, received.rejection);
      return { ...received, ignoredFields };
    }
    const { file, params, targets } = received.value;
    const uuid = file.staged.uuid;
    const upload: AcceptedUpload = {
      ...file,
      destination: params.destination,
      force: params.force,
      sync: params.sync,
      mode: params.mode,
      ownership: params.ownership,
      targets,
      requestedBy: caller.username,
      ...(params.validate === undefined ? {} : { validate: params.validate }),
      ...(params.backup === undefined ? {} : { backup: params.backup }),
      ...(params.check ? { check: true } : {}),
      ...(params.diff ? { diff: true } : {}),
      ...(params.offlineTtl === undefined ? {} : { offlineTtl: params.offlineTtl }),
    };
    await this.dispatch.keep(upload);
    await this.audit.accepted(caller, uuid, upload, params.targets.groupIds);
    return { ok: true, upload, distributed: this.dispatch.execute(upload), ignoredFields };
  }

  /**
   * Moves the staged file to the caller's id if that came after the file, then claims the uuid in
   * the result store, which refuses a uuid used before (the staged name alone only guards uploads
   * still staged).
   */
  private async claim(r: Received, held: Staging): Promise<OrRefused<Received>> {
    const id = r.params.id;
    let staged = r.file.staged;
    if (id !== undefined && id !== staged.uuid) {
      try {
        staged = await this.staging.rename(staged, id);
      } catch (e) {
        if (errorCode(e) === 'EEXIST') return idInUse(id);
        throw e;
      }
      held.key = id;
    }
    if (!(await this.results.begin(staged.uuid, r.targets))) return idInUse(staged.uuid);
    return passed({ ...r, file: { ...r.file, staged } });
  }

  /**
   * A refusal the adapter made before reading the body (content type, declared size): audited with
   * its reason like every other refusal, under an upload uuid of its own. Nothing was staged.
   */
  async refuse(caller: Caller, rejection: UploadRejection): Promise<Refused> {
    await this.audit.rejected(caller, this.ids.newId(), rejection);
    return { ok: false, rejection };
  }

  /**
   * Reads the form in arrival order: the file may come before or after the text fields. Fields that
   * come first are checked before the file is read, so a mistyped client id is answered at once, not
   * after the whole file was sent, staged and hashed. An unexpected failure leaves nothing staged.
   */
  private async receive(
    fields: FormFields,
    attempt: string,
    held: Staging,
    form: UploadForm,
  ): Promise<OrRefused<Received>> {
    let file: ReceivedFile | undefined;
    try {
      for await (const part of form.parts()) {
        if (part.kind === 'field') {
          fields.add(part.name, part.value);
          continue;
        }
        const wrong = wrongFilePart(part.name, file !== undefined);
        if (wrong) return wrong;
        const early = await fields.earlyRejection();
        if (early) return { ok: false, rejection: early };
        // An id that came before the file names it at once; one that comes after moves it (claim).
        const key = fields.chosenId() ?? attempt;
        try {
          file = {
            filename: part.filename,
            staged: await this.staging.stage(key, part.content, this.maxBytes),
          };
        } catch (e) {
          // Another upload with this id is staged now; its file is not ours to remove.
          if (errorCode(e) === 'EEXIST' && key !== attempt) return idInUse(key);
          throw e;
        }
        held.key = key;
      }
      return await complete(fields, file);
    } catch (e) {
      const refusal = refusalOfBody(e);
      if (refusal) return refusal;
      throw e;
    }
  }
}

/** Once the whole form is read: the fields must parse, the file must be there, and the targets resolve. */
async function complete(fields: FormFields, file: ReceivedFile | undefined): Promise<OrRefused<Received>> {
  const params = fields.parsed();
  if (!params.ok) return params;
  if (!file)
    return refused(
      'invalid',
      'upload',
      'upload is required: attach the file as the multipart part named upload',
    );
  const targets = await fields.resolved();
  return targets.ok ? passed({ file, params: params.value, targets: targets.value }) : targets;
}
