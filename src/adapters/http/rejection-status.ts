import type { UploadRejection } from '../../domain/upload-rejection.ts';
import { titleOf } from './api-error.ts';

/** The HTTP status that answers each kind of refused upload. */
export const STATUS_OF_REJECTION: Record<UploadRejection['kind'], number> = {
  invalid: 400,
  malformed: 400,
  'too-large': 413,
  'not-found': 404,
  forbidden: 403,
  'bad-destination': 400,
  conflict: 409,
};

/**
 * The error code and title of a refused upload. Access and destination refusals carry openrport's
 * codes and titles, which its clients match on; the other kinds keep our own.
 */
const OPENRPORT_ANSWERS: Partial<Record<UploadRejection['kind'], { code: string; title: string }>> = {
  forbidden: { code: 'ACCESS_CONTROL_VIOLATION', title: 'upload forbidden' },
  'bad-destination': { code: 'BAD_DESTINATION', title: 'upload denied' },
};

export function answerOfRejection(kind: UploadRejection['kind']): {
  status: number;
  code: string;
  title: string;
} {
  const status = STATUS_OF_REJECTION[kind];
  return { status, ...(OPENRPORT_ANSWERS[kind] ?? { code: kind, title: titleOf(status) }) };
}
