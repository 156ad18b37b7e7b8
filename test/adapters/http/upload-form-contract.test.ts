// The UploadForm contract, run against every adapter over real HTTP sockets: the same bodies, the same
// parts or the same errors. Where an adapter is knowingly less strict, the case says so (`lenient`),
// so the difference stays measured and visible (docs/adr/0004-own-multipart-parser.md).
import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { BusboyUploadForm } from '../../../src/adapters/http/busboy-upload-form.ts';
import { KoaUploadForm } from '../../../src/adapters/http/koa-upload-form.ts';
import type { UploadForm } from '../../../src/ports/upload-form.ts';
import { eventually } from './http-harness.ts';
import {
  MAX_FILE,
  md5,
  rawPost,
  startFormServer,
  type FormServer,
  type SeenPart,
} from './upload-form-server.ts';

const B = 'XyZboundary42';
const TYPE = `multipart/form-data; boundary=${B}`;

const ADAPTERS: { name: string; make: (req: IncomingMessage) => UploadForm }[] = [
  { name: 'own parser (KoaUploadForm)', make: (req) => new KoaUploadForm(req) },
  { name: 'busboy (BusboyUploadForm)', make: (req) => new BusboyUploadForm(req) },
];

const field = (name: string, value: string): string =>
  `--${B}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n${value}\r\n`;
const fileHead = (filename = 'f.bin', name = 'upload'): string =>
  `--${B}\r\nContent-Disposition: form-data; name="${name}"; filename="${filename}"\r\nContent-Type: application/octet-stream\r\n\r\n`;
const END = `--${B}--\r\n`;
const body = (...pieces: (string | Buffer)[]): Buffer =>
  Buffer.concat(pieces.map((p) => (typeof p === 'string' ? Buffer.from(p) : p)));

interface Case {
  title: string;
  body: Buffer;
  /** The parts both adapters yield, or the error both give (MalformedFormError's message). */
  parts?: SeenPart[];
  error?: RegExp;
  /** An adapter (by name prefix) that accepts this body: the parts it yields instead of the error. */
  lenient?: { adapter: string; parts: SeenPart[] };
}

const tricky = Buffer.concat([
  randomBytes(5000),
  Buffer.from(`\r\n--${B.slice(0, 5)}\r\r\n-`),
  randomBytes(3000),
  Buffer.from('\r'),
]);
const file = (bytes: Buffer, filename = 'f.bin'): SeenPart => ({
  kind: 'file',
  name: 'upload',
  filename,
  size: bytes.length,
  md5: md5(bytes),
});
const ids = (n: number): string => Array.from({ length: n }, (_, i) => field('client_id', `a${i}`)).join('');

const CASES: Case[] = [
  {
    title: 'fields, then a file full of CRs and near-delimiters: exact bytes',
    body: body(field('dest', '/tmp/x'), fileHead(), tricky, `\r\n${END}`),
    parts: [{ kind: 'field', name: 'dest', value: '/tmp/x' }, file(tricky)],
  },
  {
    title: 'the file first, then the fields, in arrival order; a preamble and an epilogue are ignored',
    body: body('preamble\r\n', fileHead('dir/a b.txt'), 'x', `\r\n`, field('force', 'true'), END, 'epilogue'),
    parts: [file(Buffer.from('x'), 'dir/a b.txt'), { kind: 'field', name: 'force', value: 'true' }],
  },
  {
    title: 'an application/octet-stream part without a filename is a field',
    body: body(
      `--${B}\r\nContent-Disposition: form-data; name="dest"\r\nContent-Type: application/octet-stream\r\n\r\n/srv/x\r\n`,
      END,
    ),
    parts: [{ kind: 'field', name: 'dest', value: '/srv/x' }],
  },
  {
    title: 'two file parts both come through (the one-file rule is the use case’s)',
    body: body(fileHead(), 'a\r\n', fileHead('g.bin', 'other'), 'b\r\n', END),
    parts: [file(Buffer.from('a')), { ...file(Buffer.from('b'), 'g.bin'), name: 'other' }],
  },
  {
    title: 'a field of exactly 65536 bytes is accepted',
    body: body(field('dest', 'v'.repeat(65536)), END),
    parts: [{ kind: 'field', name: 'dest', value: 'v'.repeat(65536) }],
  },
  {
    title: 'an upload naming 1000 client_ids is accepted',
    body: body(ids(1000), END),
    parts: Array.from({ length: 1000 }, (_, i) => ({ kind: 'field', name: 'client_id', value: `a${i}` })),
  },
  {
    title: 'a field one byte over 64 KiB',
    body: body(field('dest', 'v'.repeat(65537)), END),
    error: /field dest is longer than 65536 bytes/,
  },
  {
    title: 'a 1 MiB field',
    body: body(field('dest', 'v'.repeat(1 << 20)), END),
    error: /is longer than 65536 bytes/,
  },
  {
    title: '10001 fields',
    body: body(ids(10_001), END),
    error: /more than 10000 fields: the upload form's field limit/,
  },
  {
    title: 'text fields over 4 MiB in all',
    body: body(Array.from({ length: 80 }, (_, i) => field(`f${i}`, 'v'.repeat(60 * 1024))).join(''), END),
    error: /longer than 4194304 bytes in all/,
  },
  {
    title: 'not multipart at all',
    body: body('this is not multipart at all'),
    error: /no opening boundary|ended before the closing boundary/,
  },
  {
    title: 'a file cut before the closing boundary',
    body: body(fileHead(), 'partial bytes'),
    error: /ended before the closing boundary/,
  },
  {
    title: 'a body cut inside a part header',
    body: body(`--${B}\r\nContent-Disposition: form-da`),
    error: /ended/,
  },
  { title: 'a body cut right after a boundary', body: body(`--${B}`), error: /ended/ },
  {
    title: 'a part header block over 16 KiB',
    body: body(
      `--${B}\r\nContent-Disposition: form-data; name="dest"\r\nX-Pad: ${'p'.repeat(17 * 1024)}\r\n\r\nv\r\n`,
      END,
    ),
    error: /headers are (malformed or )?longer than 16384 bytes/,
  },
  {
    title: 'a header line that is not "Name: value"',
    body: body(`--${B}\r\nContent-Disposition form-data\r\n\r\nv\r\n`, END),
    error: /header/,
  },
  {
    title: 'a form-data part with no name',
    body: body(`--${B}\r\nContent-Disposition: form-data\r\n\r\nv\r\n`, END),
    error: /no Content-Disposition: form-data with a name/,
  },
  {
    title: 'a part with no Content-Disposition',
    body: body(`--${B}\r\nContent-Type: text/plain\r\n\r\nv\r\n`, field('dest', '/x'), END),
    error: /no Content-Disposition: form-data with a name/,
    lenient: { adapter: 'busboy', parts: [{ kind: 'field', name: 'dest', value: '/x' }] },
  },
  {
    title: 'a part whose Content-Disposition is not form-data',
    body: body(`--${B}\r\nContent-Disposition: attachment; name="force"\r\n\r\ntrue\r\n`, END),
    error: /no Content-Disposition: form-data with a name/,
    lenient: { adapter: 'busboy', parts: [] },
  },
  {
    title: 'a boundary line with trailing characters',
    body: body(`--${B}junk\r\nContent-Disposition: form-data; name="force"\r\n\r\ntrue\r\n`, END),
    error: /trailing characters/,
    lenient: { adapter: 'busboy', parts: [] },
  },
];

for (const adapter of ADAPTERS) {
  describe(`UploadForm contract over HTTP: ${adapter.name}`, function () {
    this.timeout(60_000);
    let s: FormServer;
    before(async () => (s = await startFormServer(adapter.make)));
    after(() => s.close());

    for (const c of CASES) {
      const lenient = c.lenient && adapter.name.startsWith(c.lenient.adapter) ? c.lenient : undefined;
      it(`${c.title}: ${c.error && !lenient ? 'refused' : 'parsed'}${lenient ? ' (known to be lenient)' : ''}`, async () => {
        // Sent in uneven pieces, so that delimiters and headers straddle reads.
        const cuts = [1, 7, 64, 1000, 13];
        const pieces: Buffer[] = [];
        for (let at = 0, i = 0; at < c.body.length; at += cuts[i++ % cuts.length])
          pieces.push(c.body.subarray(at, at + cuts[i % cuts.length]));
        const answer = await rawPost(s.port, '/parse', TYPE, c.body.length < 20_000 ? pieces : [c.body]);
        const expected = lenient?.parts ?? c.parts;
        if (expected) {
          expect(answer.body, JSON.stringify(answer.body).slice(0, 300)).to.deep.equal({ parts: expected });
        } else {
          expect(answer.status).to.equal(400);
          expect(answer.body).to.have.property('kind', 'malformed');
          expect((answer.body as { error: string }).error).to.match(c.error!);
        }
      });
    }

    it('a request that is not multipart/form-data with a boundary is refused before reading', async () => {
      const answer = await rawPost(s.port, '/parse', 'multipart/form-data', [body(END)]);
      expect(answer.body).to.deep.equal({
        kind: 'malformed',
        error: 'the request is not multipart/form-data with a boundary',
      });
    });

    it('a file over the staging limit: the writer refuses it while it streams (413)', async () => {
      const big = Buffer.alloc(MAX_FILE + 1, 1);
      const answer = await rawPost(s.port, '/parse', TYPE, [
        body(field('dest', '/x'), fileHead(), big, `\r\n${END}`),
      ]);
      expect(answer.status).to.equal(413);
      expect(answer.body).to.have.property('kind', 'too-large');
    });

    it('a file part left unread is skipped, and the parts after it still come', async () => {
      const answer = await rawPost(s.port, '/skip', TYPE, [
        body(fileHead(), randomBytes(300_000), '\r\n', field('dest', '/x'), END),
      ]);
      expect(answer.body).to.deep.equal({
        parts: [
          { kind: 'file', name: 'upload', filename: 'f.bin' },
          { kind: 'field', name: 'dest', value: '/x' },
        ],
      });
    });

    it('a client that goes away mid-file: the form fails as aborted, and the server stays up', async () => {
      const before = s.outcomes.length;
      await new Promise<void>((resolve) => {
        void rawPost(s.port, '/parse', TYPE, [body(fileHead(), randomBytes(200_000))], (sock) =>
          setImmediate(() => sock.destroy()),
        ).catch(() => resolve());
      });
      const outcome = await eventually(async () => s.outcomes[before], 'the aborted request to be read');
      // Node ends the body early, or errors it, depending on when the reset lands: both refuse it.
      expect(outcome).to.have.property('kind', 'malformed');
      expect((outcome as { error: string }).error).to.match(
        /^(the request was aborted before the body was complete|the body ended before the closing boundary)$/,
      );
      const again = await rawPost(s.port, '/parse', TYPE, [body(field('dest', '/y'), END)]);
      expect(again.body).to.deep.equal({ parts: [{ kind: 'field', name: 'dest', value: '/y' }] });
    });

    it('back-pressure: while the staging writer is held, the socket is not read on (64 MiB sent)', async () => {
      const size = 64 * 1024 * 1024;
      const content = randomBytes(size);
      let client: import('node:net').Socket | undefined;
      const answer = rawPost(
        s.port,
        '/gated',
        TYPE,
        [body(fileHead()), content, body(`\r\n${END}`)],
        (sock) => (client = sock),
      );
      await eventually(async () => (s.gate ? true : undefined), 'the held writer');
      await s.gate!.reached;
      // Wait until the server's reads stop moving (the kernel's socket buffers fill, then nothing more).
      let last = -1;
      let still = 0;
      await eventually(
        async () => {
          const now = s.current!.socket.bytesRead;
          still = now === last ? still + 1 : 0;
          last = now;
          return still >= 8 ? true : undefined;
        },
        'the reads to stop',
        2000,
      );
      expect(last, 'bytes read while the writer is held').to.be.below(16 * 1024 * 1024);
      expect(client!.writableLength, 'bytes the client still holds').to.be.above(size / 2);
      s.gate!.open();
      const done = await answer;
      expect(done.body).to.deep.equal({ parts: [file(content)] });
    });
  });
}
