import { MalformedFormError, type FormPart } from '../../ports/upload-form.ts';
import {
  DEFAULT_MULTIPART_LIMITS,
  ENDED_EARLY,
  NO_NAME,
  fieldTooLong,
  fieldsTooLong,
  tooManyFields,
  type MultipartLimits,
} from './multipart-limits.ts';

export { boundaryOf, DEFAULT_MULTIPART_LIMITS } from './multipart-limits.ts';

const CRLF = Buffer.from('\r\n');
const HEADER_END = Buffer.from('\r\n\r\n');

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
  await skipTo(r, delimiter, 'opening boundary');
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
      throw new MalformedFormError(NO_NAME);
    }
    const filename = param(disposition, 'filename');
    const state = { done: false };
    const content = bodyOf(r, delimiter, state);
    if (filename === undefined) {
      if (++fields > limits.maxFields) throw new MalformedFormError(tooManyFields(limits.maxFields));
      const value = await collect(content, limits.maxFieldBytes, name);
      fieldBytes += Buffer.byteLength(value);
      if (fieldBytes > limits.maxTotalFieldBytes) {
        throw new MalformedFormError(fieldsTooLong(limits.maxTotalFieldBytes));
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
    // Also when the whole block came in one read: the limit is on the block, not on what was buffered.
    if ((i < 0 ? r.buf.length : i) > max)
      throw new MalformedFormError(`a part's headers are longer than ${max} bytes`);
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
    if (!(await r.more())) throw new MalformedFormError(ENDED_EARLY);
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
    if (size > max) throw new MalformedFormError(fieldTooLong(name, max));
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
