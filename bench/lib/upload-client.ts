import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createReadStream, statSync } from 'node:fs';
import { request } from 'node:http';
import { basename } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { runCommand, type Children } from './children.ts';

export interface UploadResult {
  status: number;
  /** Time from the first byte sent to the full response (curl's time_total). */
  ms: number;
  body: string;
}

export interface Upload {
  url: string;
  file: string;
  headers?: Record<string, string>;
  /** multipart/form-data with the file as part `upload` after these fields; raw body when absent. */
  fields?: [string, string][];
}

const hasCurl = ((): boolean => {
  try {
    execFileSync('curl', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

/** Which client sends the uploads: the same one for ours and the references. */
export const uploadClient = hasCurl ? 'curl' : 'node http.request';

/** Sends a file by HTTP POST with curl (a separate process, streaming from disk), or Node if curl is missing. */
export function upload(children: Children, u: Upload): Promise<UploadResult> {
  return hasCurl ? curlUpload(children, u) : nodeUpload(u);
}

async function curlUpload(children: Children, u: Upload): Promise<UploadResult> {
  // No "Expect: 100-continue" round trip, for ours and the reference alike.
  const args = ['-sS', '-o', '-', '-w', '\n%{http_code} %{time_total}', '-H', 'Expect:'];
  for (const [k, v] of Object.entries(u.headers ?? {})) args.push('-H', `${k}: ${v}`);
  if (u.fields) {
    for (const [k, v] of u.fields) args.push('--form-string', `${k}=${v}`);
    args.push('-F', `upload=@${u.file};type=application/octet-stream`);
  } else {
    args.push('-X', 'POST', '-T', u.file, '-H', 'Content-Type: application/octet-stream');
  }
  args.push(u.url);
  const { stdout } = await runCommand(children, 'curl', args);
  const cut = stdout.lastIndexOf('\n');
  const [status, seconds] = stdout.slice(cut + 1).split(' ');
  return { status: Number(status), ms: Number(seconds) * 1000, body: stdout.slice(0, cut) };
}

async function nodeUpload(u: Upload): Promise<UploadResult> {
  const size = statSync(u.file).size;
  const boundary = `----bench${randomBytes(12).toString('hex')}`;
  const head = u.fields
    ? Buffer.from(
        u.fields
          .map(([k, v]) => `--${boundary}\r\ncontent-disposition: form-data; name="${k}"\r\n\r\n${v}\r\n`)
          .join('') +
          `--${boundary}\r\ncontent-disposition: form-data; name="upload"; filename="${basename(u.file)}"\r\ncontent-type: application/octet-stream\r\n\r\n`,
      )
    : Buffer.alloc(0);
  const tail = u.fields ? Buffer.from(`\r\n--${boundary}--\r\n`) : Buffer.alloc(0);
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const req = request(u.url, {
      method: 'POST',
      headers: {
        ...u.headers,
        'content-type': u.fields ? `multipart/form-data; boundary=${boundary}` : 'application/octet-stream',
        'content-length': String(head.length + size + tail.length),
      },
    });
    req.once('response', (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.once('end', () => resolve({ status: res.statusCode ?? 0, ms: performance.now() - started, body }));
    });
    req.once('error', reject);
    req.write(head);
    pipeline(createReadStream(u.file), req, { end: false })
      .then(() => req.end(tail))
      .catch(reject);
  });
}
