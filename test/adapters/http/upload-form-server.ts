// A real node:http server that reads each request through one UploadForm adapter and stages its file
// parts with the real FsStagingStore, answering what it saw: the parts, or the error.
import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { connect, type AddressInfo, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { FsStagingStore } from '../../../src/adapters/fs/fs-staging-store.ts';
import { UploadTooLargeError } from '../../../src/ports/staging-store.ts';
import { MalformedFormError, type UploadForm } from '../../../src/ports/upload-form.ts';

export type SeenPart =
  | { kind: 'field'; name: string; value: string }
  | { kind: 'file'; name: string; filename: string; size?: number; md5?: string };

/** What the server made of one request. */
export type Outcome = { parts: SeenPart[] } | { error: string; kind: 'malformed' | 'too-large' | 'other' };

export interface FormServer {
  port: number;
  /** Each request's outcome, in order, also when its client went away. */
  outcomes: Outcome[];
  /** The request being read (for its socket's bytesRead). */
  current?: IncomingMessage;
  /** Set by a /gated request after its first file chunk; call to let the file go on. */
  gate?: { reached: Promise<void>; open: () => void };
  close(): Promise<void>;
}

export const MAX_FILE = 8 * 1024 * 1024;

/**
 * Paths: /parse stages every file part; /skip leaves file parts unread; /gated stages, but holds the
 * file after its first chunk until the test opens the gate (a slow staging writer).
 */
export async function startFormServer(adapter: (req: IncomingMessage) => UploadForm): Promise<FormServer> {
  const dir = await mkdtemp(join(tmpdir(), 'upload-form-'));
  const staging = new FsStagingStore(dir);
  await staging.init();
  const s: FormServer = { port: 0, outcomes: [], close: async () => undefined };
  const server: Server = createServer((req, res) => {
    s.current = req;
    void read(req, adapter(req), staging).then((outcome) => {
      s.outcomes.push(outcome);
      const status = 'parts' in outcome ? 200 : outcome.kind === 'too-large' ? 413 : 400;
      const text = JSON.stringify(outcome);
      res.writeHead(status, {
        'content-type': 'application/json',
        'content-length': Buffer.byteLength(text),
        connection: 'close',
      });
      res.end(text);
      req.resume(); // drop what is left of the body
    });
  });
  async function read(req: IncomingMessage, form: UploadForm, store: FsStagingStore): Promise<Outcome> {
    const parts: SeenPart[] = [];
    try {
      for await (const p of form.parts()) {
        if (p.kind === 'field') {
          parts.push(p);
        } else if (req.url === '/skip') {
          parts.push({ kind: 'file', name: p.name, filename: p.filename });
        } else {
          const content = req.url === '/gated' ? gated(p.content, s) : p.content;
          const max = req.url === '/gated' ? Number.MAX_SAFE_INTEGER : MAX_FILE;
          const staged = await store.stage(randomUUID(), content, max);
          parts.push({
            kind: 'file',
            name: p.name,
            filename: p.filename,
            size: staged.size,
            md5: staged.md5,
          });
          await store.remove(staged.uuid);
        }
      }
      return { parts };
    } catch (e) {
      const kind =
        e instanceof MalformedFormError
          ? 'malformed'
          : e instanceof UploadTooLargeError
            ? 'too-large'
            : 'other';
      return { error: (e as Error).message, kind };
    }
  }
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  s.port = (server.address() as AddressInfo).port;
  s.close = async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
    await rm(dir, { recursive: true, force: true });
  };
  return s;
}

async function* gated(content: AsyncIterable<Uint8Array>, s: FormServer): AsyncGenerator<Uint8Array> {
  let reached!: () => void;
  let open!: () => void;
  const opened = new Promise<void>((r) => (open = r));
  s.gate = { reached: new Promise<void>((r) => (reached = r)), open };
  let first = true;
  for await (const c of content) {
    yield c;
    if (first) {
      first = false;
      reached();
      await opened;
    }
  }
}

export interface RawAnswer {
  status: number;
  body: Outcome;
}

/** Sends one POST on a raw socket, the body in the given pieces (each its own write). */
export function rawPost(
  port: number,
  path: string,
  contentType: string,
  pieces: Buffer[],
  onSocket?: (s: Socket) => void,
): Promise<RawAnswer> {
  const length = pieces.reduce((n, p) => n + p.length, 0);
  return new Promise((resolve, reject) => {
    const sock = connect(port, '127.0.0.1');
    sock.setNoDelay(true);
    const got: Buffer[] = [];
    sock.on('data', (c: Buffer) => got.push(c));
    sock.on('error', reject);
    sock.on('close', () => {
      const text = Buffer.concat(got).toString();
      const cut = text.indexOf('\r\n\r\n');
      if (cut < 0) return reject(new Error(`no HTTP answer: ${JSON.stringify(text.slice(0, 200))}`));
      resolve({ status: Number(text.slice(9, 12)), body: JSON.parse(text.slice(cut + 4)) as Outcome });
    });
    sock.write(
      `POST ${path} HTTP/1.1\r\nHost: x\r\nContent-Type: ${contentType}\r\nContent-Length: ${length}\r\n\r\n`,
    );
    onSocket?.(sock);
    for (const p of pieces) sock.write(p);
  });
}

export const md5 = (b: Buffer): string => createHash('md5').update(b).digest('hex');
