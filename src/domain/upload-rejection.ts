/** Why an upload was refused; the HTTP adapter maps kind to a status code. */
export interface UploadRejection {
  kind: 'invalid' | 'malformed' | 'too-large' | 'not-found' | 'forbidden';
  /** The form field at fault. */
  field: string;
  detail: string;
}

export const STATUS_OF_REJECTION: Record<UploadRejection['kind'], number> = {
  invalid: 400,
  malformed: 400,
  'too-large': 413,
  'not-found': 404,
  forbidden: 403,
};
