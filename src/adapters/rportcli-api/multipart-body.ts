import { randomBytes } from 'node:crypto';
import { open } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { LocalFileError } from './api-errors.ts';
import type { UploadProgress } from './api-types.ts';

const CHUNK = 256 * 1024;
/** A yielded chunk is reused after this many more pulls: a consumer must be done with it by then. */
const RING = 4;
const CRLF = '\r\n';

export interface FilePart {
  /** The form field, `upload` for rportd. */
  field: string;
  path: string;
  /** The name the server sees; only the base name of path. */
  filename: string;
}

interface MultipartBody {
  contentType: string;
  /** Exact byte length, known before the first byte is sent, so no chunked encoding is needed. */
  length: number;
  /**
   * Pulled by the sender as the socket drains: each pull reads one chunk of the file, never the
   * whole file. Chunks come from a ring of 4 buffers: a chunk must be written (or copied) before 3
   * more have been pulled; postStream waits for the socket to drain after every write.
   */
  chunks: AsyncIterable<Uint8Array>;
}

/** HTML's rule for names in Content-Disposition: percent-encode the quote and line breaks. */
const quoted = (s: string): string => s.replace(/"/g, '%22').replace(/\r/g, '%0D').replace(/\n/g, '%0A');

/**
 * A multipart/form-data body streamed from disk: the text fields first (so a server can refuse a
 * bad field without the file), then the file. The file is opened and sized here, so a missing or
 * unreadable file fails before any request is made.
 */
export async function multipartBody(
  fields: [string, string][],
  file: FilePart,
  onProgress?: UploadProgress,
): Promise<MultipartBody> {
  const boundary = `----rportcli${randomBytes(16).toString('hex')}`;
  let head = '';
  for (const [name, value] of fields) {
    head += `--${boundary}${CRLF}Content-Disposition: form-data; name="${quoted(name)}"${CRLF}${CRLF}${value}${CRLF}`;
  }
  head +=
    `--${boundary}${CRLF}Content-Disposition: form-data; name="${quoted(file.field)}"; filename="${quoted(file.filename)}"${CRLF}` +
    `Content-Type: application/octet-stream${CRLF}${CRLF}`;
  const headBytes = Buffer.from(head, 'utf8');
  const tailBytes = Buffer.from(`${CRLF}--${boundary}--${CRLF}`, 'utf8');

  // Checked and sized now, so a bad file fails before any request; opened again when sending starts.
  const probe = await openRegularFile(file.path);
  const size = (await probe.stat()).size;
  await probe.close();
  return {
    contentType: `multipart/form-data; boundary=${boundary}`,
    length: headBytes.length + size + tailBytes.length,
    chunks: chunks(file.path, size, headBytes, tailBytes, onProgress),
  };
}

/** Reads the next chunk of the file only when the sender asks for it, so progress follows the socket. */
async function* chunks(
  path: string,
  size: number,
  head: Buffer,
  tail: Buffer,
  onProgress?: UploadProgress,
): AsyncGenerator<Uint8Array> {
  const handle = await openRegularFile(path);
  try {
    if ((await handle.stat()).size !== size)
      throw new LocalFileError(path, 'the file changed size before it could be sent');
    yield head;
    onProgress?.(0, size);
    let sent = 0;
    // A small ring of buffers instead of a fresh one per chunk: V8 collects external memory
    // lazily, so fresh buffers pile up as garbage during a large upload
    // (docs/benchmarks.md, "rportcli memory").
    const ring = Array.from({ length: Math.min(RING, Math.ceil(size / CHUNK)) }, () =>
      Buffer.allocUnsafe(CHUNK),
    );
    for (let i = 0; sent < size; i++) {
      const buf = ring[i % ring.length].subarray(0, Math.min(CHUNK, size - sent));
      const { bytesRead } = await handle.read(buf, 0, buf.length, sent);
      if (bytesRead === 0)
        throw new LocalFileError(path, `the file shrank while it was being sent (${sent} of ${size} bytes)`);
      yield buf.subarray(0, bytesRead);
      sent += bytesRead;
      onProgress?.(sent, size);
    }
    yield tail;
  } finally {
    // Also runs when the sender stops early (the server answered before the end).
    await handle.close().catch(() => undefined);
  }
}

async function openRegularFile(path: string): Promise<FileHandle> {
  let handle: FileHandle;
  try {
    handle = await open(path, 'r');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new LocalFileError(path, 'no such file');
    if (code === 'EACCES' || code === 'EPERM')
      throw new LocalFileError(path, 'permission denied: the file cannot be read');
    if (code === 'EISDIR') throw new LocalFileError(path, 'is a directory; upload sends one file');
    throw new LocalFileError(path, (e as Error).message);
  }
  const st = await handle.stat();
  if (!st.isFile()) {
    await handle.close();
    throw new LocalFileError(
      path,
      st.isDirectory() ? 'is a directory; upload sends one file' : 'is not a regular file',
    );
  }
  return handle;
}
