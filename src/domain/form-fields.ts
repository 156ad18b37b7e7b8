import type { TargetSelector } from './target-selector.ts';
import { parseUploadId } from './upload-field-values.ts';
import { FORM_FIELDS, parseUploadFields, type FieldRules, type UploadParameters } from './upload-fields.ts';
import type { OrRefused, UploadRejection } from './upload-rejection.ts';

/**
 * The text fields of an upload form, as they arrive. Their parse and their resolved targets are kept
 * until another field arrives: fields sent before the file are checked once, when the file comes,
 * and that result stands unless more fields follow the file.
 */
export class FormFields {
  private readonly fields = new Map<string, string[]>();
  private params?: OrRefused<UploadParameters>;
  private targets?: Promise<OrRefused<string[]>>;

  constructor(
    private readonly resolve: (selector: TargetSelector) => Promise<OrRefused<string[]>>,
    private readonly rules?: FieldRules,
  ) {}

  add(name: string, value: string): void {
    this.fields.set(name, [...(this.fields.get(name) ?? []), value]);
    this.params = undefined;
    this.targets = undefined;
  }

  parsed(): OrRefused<UploadParameters> {
    return (this.params ??= parseUploadFields(this.fields, this.rules));
  }

  /** Field names the upload does not read, in arrival order: ignored, as openrport ignores them. */
  ignored(): string[] {
    return [...this.fields.keys()].filter((name) => !FORM_FIELDS.includes(name));
  }

  /** The caller's uuid for the upload when one came and is well-formed (the rest of the form may still be wrong). */
  chosenId(): string | undefined {
    const id = parseUploadId(this.fields.get('id')?.[0]);
    return id.ok ? id.value : undefined;
  }

  /** The target client ids, once the fields parse. */
  resolved(): Promise<OrRefused<string[]>> {
    const params = this.parsed();
    if (!params.ok) return Promise.resolve(params);
    return (this.targets ??= this.resolve(params.value.targets));
  }

  /**
   * What is already wrong with the fields so far, and that no later field can mend: a field with a
   * bad value, an unknown or forbidden client or group, tags that match no client. A field still
   * missing is not (it may come after the file), nor is a group with no clients (a client_id may follow).
   */
  async earlyRejection(): Promise<UploadRejection | undefined> {
    const params = this.parsed();
    if (!params.ok) return this.fields.has(params.rejection.field) ? params.rejection : undefined;
    const targets = await this.resolved();
    if (targets.ok) return undefined;
    const { kind, field } = targets.rejection;
    return kind === 'not-found' || kind === 'forbidden' || field === 'tags' ? targets.rejection : undefined;
  }
}
