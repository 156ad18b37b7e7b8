import type { UploadRejection } from '../../domain/upload-rejection.ts';

/** The HTTP status that answers each kind of refused upload. */
export const STATUS_OF_REJECTION: Record<UploadRejection['kind'], number> = {
  invalid: 400,
  malformed: 400,
  'too-large': 413,
  'not-found': 404,
  forbidden: 403,
};
