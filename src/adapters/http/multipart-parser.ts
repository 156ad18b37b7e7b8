import { MalformedFormError, type FormPart } from '../../ports/upload-form.ts';

interface MultipartLimits {
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

const CRLF = Buffer.from('\r\n');
const HEADER_END = Buffer.from('\r\n\r\n');

/** The boundary of a multipart/form-data content type; undefined when it is not one. */
export function boundaryOf(contentType: string | undefined): string | undefined {
  if (!contentType || !/^multipart\/form-data\b/i.test(contentType.trim())) return undefined;
  const m = /;\s*boundary=(?:"([^"]{1,70})"|([^\s;]{1,70}))/i.exec(contentType);
  return m ? (m[1] ?? m[2]) : undefined;
}

/** Pulls bytes from the body on demand, so a slow consumer slows the sender (no unbounded buffering). */
class Reader {
  buf: Buffer;
  ended = false;
  constructor(
    private readonly source: AsyncIterator<Uint8Array>,
    first: Buffer,
  ) {
    this.buf = first;
  }
  async more(): Promise<boolean> {
    if (this.ended) return false;
    const next = await this.source.next();
    if (next.done) {
      this.ended = true;
      return false;
    }
    // A view, not a copy: the body parser almost always leaves nothing behind (see partialDelimiter).
    const chunk = Buffer.from(next.value.buffer, next.value.byteOffset, next.value.byteLength);
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
    return true;
  }
}

/**
 * A streaming multipart/form-data parser yielding parts in arrival order. A file part's content
 * streams straight from the socket; a part left unread is skipped when the next one is asked for.
 * Anything not valid multipart throws MalformedFormError.
 */
export async function* parseMultipart(
  body: AsyncIterable<Uint8Array>,
  boundary: string,
  limits: MultipartLimits = DEFAULT_MULTIPART_LIMITS,
): AsyncGenerator<FormPart> {
  const delimiter = Buffer.from(`\r\n--${boundary}`);
  // A leading CRLF lets the first delimiter be found like the others.
  const r = new Reader(body[Symbol.asyncIterator](), Buffer.from(CRLF));
  await skipTo(r, delimiter, 'the opening boundary');
  let fields = 0;
  let fieldBytes = 0;
  for (;;) {
    while (r.buf.length < 2 && (await r.more()));
    if (r.buf.length < 2) throw new MalformedFormError('the body ended right after a boundary');
    if (r.buf[0] === 0x2d && r.buf[1] === 0x2d) return; // "--": the closing boundary; the epilogue is ignored
    const headers = await readHeaders(r, limits.maxHeaderBytes);
    const disposition = headers.get('content-disposition') ?? '';
    const name = param(disposition, 'name');
    if (!/^form-data\b/i.test(disposition) || name === undefined) {
      throw new MalformedFormError('a part has no Content-Disposition: form-data with a name');
    }
    const filename = param(disposition, 'filename');
    const state = { done: false };
    const content = bodyOf(r, delimiter, state);
    if (filename === undefined) {
      if (++fields > limits.maxFields)
        throw new MalformedFormError(
          `more than ${limits.maxFields} fields: the upload form's field limit (name a client group to reach more clients)`,
        );
      const value = await collect(content, limits.maxFieldBytes, name);
      fieldBytes += Buffer.byteLength(value);
      if (fieldBytes > limits.maxTotalFieldBytes) {
        throw new MalformedFormError(
          `the text fields are longer than ${limits.maxTotalFieldBytes} bytes in all: the upload form's limit`,
        );
      }
      yield { kind: 'field', name, value };
    } else {
      yield { kind: 'file', name, filename, content };
      if (!state.done) for await (const _ of content); // the consumer abandoned it: skip the rest
    }
  }
}

async function skipTo(r: Reader, delimiter: Buffer, what: string): Promise<void> {
  for (;;) {
    const i = r.buf.indexOf(delimiter);
    if (i >= 0) {
      r.buf = r.buf.subarray(i + delimiter.length);
      return;
    }
    r.buf = r.buf.subarray(Math.max(0, r.buf.length - delimiter.length));
    if (!(await r.more())) throw new MalformedFormError(`the body has no ${what}`);
  }
}

async function readHeaders(r: Reader, max: number): Promise<Map<string, string>> {
  for (;;) {
    const i = r.buf.indexOf(HEADER_END);
    // The block starts with the CRLF ending the boundary line, so it may be just "\r\n\r\n" (no headers).
    if (i >= 0) {
      const block = r.buf.subarray(0, i).toString('utf8');
      r.buf = r.buf.subarray(i + HEADER_END.length);
      const lines = block.split('\r\n');
      if (lines[0].trim() !== '') throw new MalformedFormError('a boundary line has trailing characters');
      const headers = new Map<string, string>();
      for (const line of lines.slice(1)) {
        const c = line.indexOf(':');
        if (c <= 0) throw new MalformedFormError(`a part header line is not "Name: value"`);
        headers.set(line.slice(0, c).trim().toLowerCase(), line.slice(c + 1).trim());
      }
      return headers;
    }
    if (r.buf.length > max) throw new MalformedFormError(`a part's headers are longer than ${max} bytes`);
    if (!(await r.more())) throw new MalformedFormError('the body ended inside a part header');
  }
}

async function* bodyOf(r: Reader, delimiter: Buffer, state: { done: boolean }): AsyncGenerator<Uint8Array> {
  for (;;) {
    const i = r.buf.indexOf(delimiter);
    if (i >= 0) {
      const last = r.buf.subarray(0, i);
      r.buf = r.buf.subarray(i + delimiter.length);
      state.done = true;
      if (last.length > 0) yield last;
      return;
    }
    // Keep only a tail that could be the start of the delimiter (usually none, so the next chunk is not copied).
    const safe = r.buf.length - partialDelimiter(r.buf, delimiter);
    if (safe > 0) {
      const chunk = r.buf.subarray(0, safe);
      r.buf = r.buf.subarray(safe);
      yield chunk;
    }
    if (!(await r.more())) throw new MalformedFormError('the body ended before the closing boundary');
  }
}

/** Length of the longest end of buf that is a proper prefix of the delimiter (which starts with CR). */
function partialDelimiter(buf: Buffer, delimiter: Buffer): number {
  let i = buf.indexOf(0x0d, Math.max(0, buf.length - (delimiter.length - 1)));
  while (i >= 0) {
    if (buf.subarray(i).equals(delimiter.subarray(0, buf.length - i))) return buf.length - i;
    i = buf.indexOf(0x0d, i + 1);
  }
  return 0;
}

async function collect(content: AsyncIterable<Uint8Array>, max: number, name: string): Promise<string> {
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const c of content) {
    size += c.byteLength;
    if (size > max) throw new MalformedFormError(`field ${name} is longer than ${max} bytes`);
    chunks.push(c);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** A parameter of a Content-Disposition header: quoted or token form. */
function param(header: string, key: string): string | undefined {
  const re = new RegExp(`;\\s*${key}=(?:"((?:[^"\\\\]|\\\\.)*)"|([^;\\s]*))`, 'i');
  const m = re.exec(header);
  if (!m) return undefined;
  return m[1] !== undefined ? m[1].replace(/\\(.)/g, '$1') : m[2];
}
