import { expect } from 'chai';
import { createHash, randomBytes } from 'node:crypto';
import { DEFAULT_MULTIPART_LIMITS, parseMultipart } from '../../../src/adapters/http/multipart-parser.ts';
import { MalformedFormError, type FormPart } from '../../../src/ports/upload-form.ts';

const B = 'XyZboundary42';

function body(fields: [string, string][], file?: Buffer): Buffer {
  const parts = fields.map(
    ([k, v]) => `--${B}\r\nContent-Disposition: form-data; name="${k}"\r\n\r\n${v}\r\n`,
  );
  const head = Buffer.from(
    parts.join('') +
      (file ? `--${B}\r\nContent-Disposition: form-data; name="upload"; filename="f.bin"\r\n\r\n` : ''),
  );
  return Buffer.concat([head, file ?? Buffer.alloc(0), Buffer.from(`${file ? '\r\n' : ''}--${B}--\r\n`)]);
}

async function* inChunks(buf: Buffer, sizes: number[]): AsyncIterable<Uint8Array> {
  let at = 0;
  for (let i = 0; at < buf.length; i++) {
    const n = sizes[i % sizes.length];
    yield Uint8Array.prototype.slice.call(buf, at, at + n); // a fresh copy, as a socket gives
    at += n;
  }
}

async function parse(
  src: AsyncIterable<Uint8Array>,
): Promise<{ fields: [string, string][]; md5?: string; size?: number }> {
  const fields: [string, string][] = [];
  let md5: string | undefined;
  let size: number | undefined;
  for await (const part of parseMultipart(src, B) as AsyncIterable<FormPart>) {
    if (part.kind === 'field') fields.push([part.name, part.value]);
    else {
      const h = createHash('md5');
      size = 0;
      for await (const c of part.content) {
        h.update(c);
        size += c.byteLength;
      }
      md5 = h.digest('hex');
    }
  }
  return { fields, md5, size };
}

describe('parseMultipart (streaming, bounded)', () => {
  it('file bytes come out exact whatever the chunking, including a CR and a near-boundary inside the content', async () => {
    // Content full of CRs and a delimiter prefix: the parser must hold back only what could be a delimiter.
    const tricky = Buffer.concat([
      randomBytes(5000),
      Buffer.from(`\r\n--${B.slice(0, 5)}\r\r\n-`),
      randomBytes(3000),
      Buffer.from('\r'),
    ]);
    const raw = body([['dest', '/tmp/x']], tricky);
    for (const sizes of [[1], [7, 3], [64], [1000, 13], [raw.length]]) {
      const r = await parse(inChunks(raw, sizes));
      expect(r.fields, `chunks ${sizes}`).to.deep.equal([['dest', '/tmp/x']]);
      expect(r.size, `chunks ${sizes}`).to.equal(tricky.length);
      expect(r.md5, `chunks ${sizes}`).to.equal(createHash('md5').update(tricky).digest('hex'));
    }
  });

  it('an upload naming 1000 client_ids is accepted (the field limit is 10000)', async () => {
    const ids = Array.from({ length: 1000 }, (_, i): [string, string] => ['client_id', `agent-${i}`]);
    const r = await parse(inChunks(body(ids, Buffer.from('x')), [65536]));
    expect(r.fields).to.have.length(1000);
    expect(DEFAULT_MULTIPART_LIMITS.maxFields).to.equal(10_000);
  });

  it('bad input: more than maxFields fields is a MalformedFormError naming the limit', async () => {
    const ids = Array.from({ length: 10_001 }, (_, i): [string, string] => ['client_id', `a${i}`]);
    let err: unknown;
    await parse(inChunks(body(ids), [65536])).catch((e) => (err = e));
    expect(err).to.be.instanceOf(MalformedFormError);
    expect((err as Error).message).to.match(/more than 10000 fields: the upload form's field limit/);
  });

  it('bad input: text fields over maxTotalFieldBytes in all are a MalformedFormError naming the limit', async () => {
    const big = 'v'.repeat(60 * 1024);
    const fields = Array.from({ length: 80 }, (_, i): [string, string] => [`f${i}`, big]);
    let err: unknown;
    await parse(inChunks(body(fields), [65536])).catch((e) => (err = e));
    expect(err).to.be.instanceOf(MalformedFormError);
    expect((err as Error).message).to.match(/longer than 4194304 bytes in all/);
  });
});
