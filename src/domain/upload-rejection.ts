/**
 * Why an upload was refused. The HTTP adapter maps each kind to a status code and an error code:
 * `forbidden` (a target the caller may not reach) and `bad-destination` (a dest given but refused)
 * are openrport's ACCESS_CONTROL_VIOLATION and BAD_DESTINATION; `conflict` is a caller-chosen id
 * already in use.
 */
export interface UploadRejection {
  kind: 'invalid' | 'malformed' | 'too-large' | 'not-found' | 'forbidden' | 'bad-destination' | 'conflict';
  /** The form field at fault. */
  field: string;
  detail: string;
}

export type Refused = { ok: false; rejection: UploadRejection };

/** A step of accepting an upload either yields its value or says why the upload is refused; `ok` tells which. */
export type OrRefused<T> = { ok: true; value: T } | Refused;

export const passed = <T>(value: T): OrRefused<T> => ({ ok: true, value });

export const refused = (kind: UploadRejection['kind'], field: string, detail: string): Refused => ({
  ok: false,
  rejection: { kind, field, detail },
});
