import { randomBytes } from 'node:crypto';

/** A file part: what curl sends for `-F upload=@path`. */
export interface FilePart {
  name: string;
  filename: string;
  content: Buffer;
}

/**
 * A multipart/form-data body built by hand, byte for byte what `curl -F` sends: parts in the order
 * given (the file first, as curl's examples put it), a file part with filename and
 * application/octet-stream, plain fields without a content type.
 */
export function multipart(parts: (FilePart | [string, string])[]): { body: Buffer; contentType: string } {
  const boundary = `------------------------${randomBytes(12).toString('hex')}`;
  const chunks: Buffer[] = [];
  for (const part of parts) {
    if (Array.isArray(part)) {
      chunks.push(
        Buffer.from(
          `--${boundary}\r\nContent-Disposition: form-data; name="${part[0]}"\r\n\r\n${part[1]}\r\n`,
        ),
      );
    } else {
      chunks.push(
        Buffer.from(
          `--${boundary}\r\nContent-Disposition: form-data; name="${part.name}"; filename="${part.filename}"\r\nContent-Type: application/octet-stream\r\n\r\n`,
        ),
        part.content,
        Buffer.from('\r\n'),
      );
    }
  }
  chunks.push(Buffer.from(`--${boundary}--\r\n`));
  return { body: Buffer.concat(chunks), contentType: `multipart/form-data; boundary=${boundary}` };
}
