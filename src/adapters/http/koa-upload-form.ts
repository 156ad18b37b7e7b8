import type { IncomingMessage } from 'node:http';
import { MalformedFormError, type FormPart, type UploadForm } from '../../ports/upload-form.ts';
import { ABORTED, NOT_MULTIPART, isAbort } from './multipart-limits.ts';
import { boundaryOf, parseMultipart } from './multipart-parser.ts';

/** The UploadForm port over a raw request body: parts in arrival order, the file streamed as it comes. */
export class KoaUploadForm implements UploadForm {
  constructor(private readonly req: IncomingMessage) {}

  async *parts(): AsyncIterable<FormPart> {
    const boundary = boundaryOf(this.req.headers['content-type']);
    if (!boundary) throw new MalformedFormError(NOT_MULTIPART);
    // Not destroyed when we stop early (413, a bad field): the caller still answers on this socket.
    const body = this.req.iterator({ destroyOnReturn: false });
    try {
      yield* parseMultipart({ [Symbol.asyncIterator]: () => body }, boundary);
    } catch (e) {
      if (isAbort(e)) throw new MalformedFormError(ABORTED);
      throw e;
    } finally {
      // Detaches the iterator so the rest of the body can be drained.
      await body.return?.(undefined);
    }
  }
}
