/** One part of a multipart upload, in the order it arrived. */
export type FormPart =
  | { kind: 'field'; name: string; value: string }
  | {
      kind: 'file';
      name: string;
      filename: string;
      /** Must be consumed (or abandoned by breaking out) before the next part arrives. */
      content: AsyncIterable<Uint8Array>;
    };

/** The body of an upload request, as the HTTP adapter parses it, streamed. */
export interface UploadForm {
  parts(): AsyncIterable<FormPart>;
}

/** Thrown by UploadForm.parts() when the body is not valid multipart. */
export class MalformedFormError extends Error {
  constructor(detail: string) {
    super(detail);
    this.name = 'MalformedFormError';
  }
}
