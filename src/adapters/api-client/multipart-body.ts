import { randomBytes } from 'node:crypto';
import { open } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { LocalFileError } from './api-errors.ts';
import type { UploadProgress } from './api-types.ts';

const CHUNK = 256 * 1024;
const CRLF = '\r\n';

export interface FilePart {
  /** The form field, `upload` for rportd. */
  field: string;
  path: string;
  /** The name the server sees; only the base name of path. */
  filename: string;
}

export interface MultipartBody {
  contentType: string;
  /** Exact byte length, known before the first byte is sent, so no chunked encoding is needed. */
  length: number;
  /** Pulled by fetch as the socket drains: each pull reads one chunk of the file, never the whole file. */
  stream: ReadableStream<Uint8Array>;
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

  const handle = await openRegularFile(file.path);
  const size = (await handle.stat()).size;
  let sent = 0;
  let headDone = false;
  const stream = new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        try {
          if (!headDone) {
            headDone = true;
            controller.enqueue(headBytes);
            onProgress?.(0, size);
            return;
          }
          if (sent < size) {
            const buf = Buffer.allocUnsafe(Math.min(CHUNK, size - sent));
            const { bytesRead } = await handle.read(buf, 0, buf.length, sent);
            if (bytesRead === 0) throw new LocalFileError(file.path, `the file shrank while it was being sent (${sent} of ${size} bytes)`);
            sent += bytesRead;
            controller.enqueue(buf.subarray(0, bytesRead));
            onProgress?.(sent, size);
            return;
          }
          controller.enqueue(tailBytes);
          controller.close();
          await handle.close();
        } catch (e) {
          await handle.close().catch(() => undefined);
          controller.error(e);
        }
      },
      async cancel() {
        await handle.close().catch(() => undefined);
      },
    },
    // No read-ahead: a chunk is read from disk only when fetch asks for it, so progress follows the socket.
    { highWaterMark: 0 },
  );
  return {
    contentType: `multipart/form-data; boundary=${boundary}`,
    length: headBytes.length + size + tailBytes.length,
    stream,
  };
}

async function openRegularFile(path: string): Promise<FileHandle> {
  let handle: FileHandle;
  try {
    handle = await open(path, 'r');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new LocalFileError(path, 'no such file');
    if (code === 'EACCES' || code === 'EPERM') throw new LocalFileError(path, 'permission denied: the file cannot be read');
    if (code === 'EISDIR') throw new LocalFileError(path, 'is a directory; upload sends one file');
    throw new LocalFileError(path, (e as Error).message);
  }
  const st = await handle.stat();
  if (!st.isFile()) {
    await handle.close();
    throw new LocalFileError(path, st.isDirectory() ? 'is a directory; upload sends one file' : 'is not a regular file');
  }
  return handle;
}
