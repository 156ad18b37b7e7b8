/** What one upload form may hold besides the file, whichever parser reads it. */
export interface MultipartLimits {
  /** Bytes of one text field. */
  maxFieldBytes: number;
  /** Text fields in one form. */
  maxFields: number;
  /** Bytes of all text fields together. */
  maxTotalFieldBytes: number;
  /** Bytes of one part's header block. */
  maxHeaderBytes: number;
}

/** 10,000 fields leaves room for an upload naming thousands of client_ids; the 4 MiB total keeps what the caller holds bounded. */
export const DEFAULT_MULTIPART_LIMITS: MultipartLimits = {
  maxFieldBytes: 64 * 1024,
  maxFields: 10_000,
  maxTotalFieldBytes: 4 * 1024 * 1024,
  maxHeaderBytes: 16 * 1024,
};

/** The boundary of a multipart/form-data content type; undefined when it is not one. */
export function boundaryOf(contentType: string | undefined): string | undefined {
  if (!contentType || !/^multipart\/form-data\b/i.test(contentType.trim())) return undefined;
  const m = /;\s*boundary=(?:"([^"]{1,70})"|([^\s;]{1,70}))/i.exec(contentType);
  return m ? (m[1] ?? m[2]) : undefined;
}

/** The messages both parsers give for the same fault, so that a client sees one wording. */
export const tooManyFields = (max: number): string =>
  `more than ${max} fields: the upload form's field limit (name a client group to reach more clients)`;
export const fieldsTooLong = (max: number): string =>
  `the text fields are longer than ${max} bytes in all: the upload form's limit`;
export const fieldTooLong = (name: string, max: number): string =>
  `field ${name} is longer than ${max} bytes`;
export const NO_NAME = 'a part has no Content-Disposition: form-data with a name';
export const ENDED_EARLY = 'the body ended before the closing boundary';
export const ABORTED = 'the request was aborted before the body was complete';
export const NOT_MULTIPART = 'the request is not multipart/form-data with a boundary';

/** A client that goes away mid-body is reported like a truncated body. */
export const isAbort = (e: unknown): boolean =>
  (e as NodeJS.ErrnoException).code === 'ECONNRESET' || (e as Error).message === 'aborted';
