import { UploadTooLargeError } from '../ports/staging-store.ts';
import { MalformedFormError } from '../ports/upload-form.ts';
import { refused, type Refused } from './upload-rejection.ts';

/** An upload body holds one file, in the part named upload; why a file part is refused, if it is. */
export function wrongFilePart(name: string, fileSeen: boolean): Refused | undefined {
  if (name !== 'upload')
    return refused('invalid', name, `unexpected file part "${name}"; the file goes in the part named upload`);
  if (fileSeen) return refused('invalid', 'upload', 'more than one file was sent; send one file per upload');
  return undefined;
}

/** A body too large or not valid multipart is the sender's fault: a rejection, not a failure. */
export function refusalOfBody(e: unknown): Refused | undefined {
  if (e instanceof UploadTooLargeError)
    return refused('too-large', 'upload', `the file is larger than max_filepush_size (${e.limit} bytes)`);
  if (e instanceof MalformedFormError)
    return refused('malformed', 'upload', `malformed multipart body: ${e.message}`);
  return undefined;
}
