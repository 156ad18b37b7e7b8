import busboy from 'busboy';
import type { IncomingMessage } from 'node:http';
import type { Readable } from 'node:stream';
import { finished } from 'node:stream/promises';
import { MalformedFormError, type FormPart, type UploadForm } from '../../ports/upload-form.ts';
import {
  ABORTED,
  DEFAULT_MULTIPART_LIMITS,
  ENDED_EARLY,
  NOT_MULTIPART,
  NO_NAME,
  boundaryOf,
  fieldTooLong,
  fieldsTooLong,
  isAbort,
  tooManyFields,
  type MultipartLimits,
} from './multipart-limits.ts';

/** busboy's own bound on one part's header block, fixed in its source. */
const BUSBOY_HEADER_BYTES = 16 * 1024;
/** How much of a file busboy holds before it stops reading the socket. */
const FILE_BUFFER = 256 * 1024;

type Arrival =
  | { kind: 'field'; name: string; value: string }
  /** filename undefined: a part busboy calls a file for its application/octet-stream type alone. */
  | { kind: 'file'; name: string; filename: string | undefined; stream: Readable };

/** The parts busboy has found, in order, until the form ends or fails. */
class Arrivals {
  private readonly items: Arrival[] = [];
  private taken = 0;
  private done = false;
  private wake: (() => void) | undefined;
  failure: MalformedFormError | undefined;
  /** The file being read: a failure of the form ends it too. */
  current: Readable | undefined;

  push(item: Arrival): void {
    this.items.push(item);
    this.wake?.();
  }
  fail(e: unknown): void {
    this.failure ??= asMalformed(e);
    this.current?.destroy(this.failure);
    this.wake?.();
  }
  end(): void {
    this.done = true;
    this.wake?.();
  }
  async next(): Promise<Arrival | undefined> {
    for (;;) {
      if (this.failure) throw this.failure;
      if (this.taken < this.items.length) return this.items[this.taken++];
      if (this.done) return undefined;
      await new Promise<void>((resolve) => (this.wake = resolve));
      this.wake = undefined;
    }
  }
}

/** busboy's errors in the wording the upload API uses for the same faults. */
function asMalformed(e: unknown): MalformedFormError {
  if (e instanceof MalformedFormError) return e;
  if (isAbort(e)) return new MalformedFormError(ABORTED);
  const message = (e as Error).message;
  if (/^Unexpected end of (form|file)$/.test(message)) return new MalformedFormError(ENDED_EARLY);
  if (message === 'Malformed part header')
    return new MalformedFormError(
      `a part's headers are malformed or longer than ${BUSBOY_HEADER_BYTES} bytes`,
    );
  return new MalformedFormError(message);
}

/**
 * The UploadForm port over busboy: parts in arrival order, the file streamed as it comes, busboy
 * holding at most FILE_BUFFER of it before the socket is paused. busboy skips, without a word, a part
 * with no form-data Content-Disposition and a field longer than its limit; the second is caught here
 * by the bytes that pass with no part to show for them.
 */
export class BusboyUploadForm implements UploadForm {
  constructor(
    private readonly req: IncomingMessage,
    private readonly limits: MultipartLimits = DEFAULT_MULTIPART_LIMITS,
  ) {}

  async *parts(): AsyncIterable<FormPart> {
    if (!boundaryOf(this.req.headers['content-type'])) throw new MalformedFormError(NOT_MULTIPART);
    const { req, limits } = this;
    const arrivals = new Arrivals();
    const bb = busboy({
      headers: req.headers,
      preservePath: true,
      fileHwm: FILE_BUFFER,
      // One byte over the limit, so that a field of exactly the limit is not taken as cut.
      limits: { fields: limits.maxFields, fieldSize: limits.maxFieldBytes + 1 },
    });
    // Bytes read while no file was open and no part came of them: a field busboy is skipping.
    const quietLimit = limits.maxHeaderBytes + limits.maxFieldBytes + 64 * 1024;
    let quiet = 0;
    const onData = (chunk: Buffer): void => {
      if (arrivals.current) return;
      quiet += chunk.length;
      if (quiet > quietLimit)
        arrivals.fail(
          new MalformedFormError(fieldTooLong('(a part that is not the file)', limits.maxFieldBytes)),
        );
    };
    const onError = (e: Error): void => arrivals.fail(e);
    const onClose = (): void => {
      if (!req.complete) arrivals.fail(new MalformedFormError(ABORTED));
    };
    bb.on('field', (name, value, info) => {
      quiet = 0;
      if (!name) arrivals.fail(new MalformedFormError(NO_NAME));
      else if (info.valueTruncated)
        arrivals.fail(new MalformedFormError(fieldTooLong(name, limits.maxFieldBytes)));
      else arrivals.push({ kind: 'field', name, value });
    });
    bb.on('file', (name, stream, info) => {
      quiet = 0;
      stream.on('error', () => undefined); // reported by the form or by the reader of the file
      if (!name) return arrivals.fail(new MalformedFormError(NO_NAME));
      arrivals.current = stream;
      arrivals.push({ kind: 'file', name, filename: info.filename, stream });
    });
    bb.on('fieldsLimit', () => arrivals.fail(new MalformedFormError(tooManyFields(limits.maxFields))));
    bb.on('error', onError);
    bb.on('finish', () => arrivals.end());
    req.on('data', onData);
    req.on('error', onError);
    req.on('close', onClose);
    req.pipe(bb);
    let fields = 0;
    let fieldBytes = 0;
    const field = (name: string, value: string): FormPart => {
      if (++fields > limits.maxFields) throw new MalformedFormError(tooManyFields(limits.maxFields));
      fieldBytes += Buffer.byteLength(value);
      if (fieldBytes > limits.maxTotalFieldBytes)
        throw new MalformedFormError(fieldsTooLong(limits.maxTotalFieldBytes));
      return { kind: 'field', name, value };
    };
    try {
      for (let a = await arrivals.next(); a; a = await arrivals.next()) {
        if (a.kind === 'field') yield field(a.name, a.value);
        else if (a.filename === undefined) {
          yield field(a.name, await collect(a.stream, limits.maxFieldBytes, a.name));
          arrivals.current = undefined;
        } else {
          yield { kind: 'file', name: a.name, filename: a.filename, content: contentOf(a.stream) };
          // Left unread by the caller: skipped, so that the next part can come.
          if (!a.stream.readableEnded)
            await finished(a.stream.resume()).catch((e: unknown) => arrivals.fail(e));
          arrivals.current = undefined;
          quiet = 0;
        }
      }
    } finally {
      // The caller may still answer on this socket: stop parsing, and leave the rest of the body to drain.
      req.unpipe(bb);
      req.off('data', onData);
      req.off('error', onError);
      req.off('close', onClose);
      bb.destroy();
    }
  }
}

async function* contentOf(stream: Readable): AsyncGenerator<Uint8Array> {
  try {
    for await (const chunk of stream.iterator({ destroyOnReturn: false })) yield chunk as Buffer;
  } catch (e) {
    throw asMalformed(e);
  }
}

async function collect(stream: Readable, max: number, name: string): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of contentOf(stream)) {
    size += c.byteLength;
    if (size > max) throw new MalformedFormError(fieldTooLong(name, max));
    chunks.push(c as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}
