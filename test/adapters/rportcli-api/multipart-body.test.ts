import { expect } from 'chai';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalFileError } from '../../../src/adapters/rportcli-api/api-errors.ts';
import { multipartBody } from '../../../src/adapters/rportcli-api/multipart-body.ts';

/** Reads the whole body into memory: fine for the small files these tests use. */
async function collect(chunks: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of chunks) parts.push(Buffer.from(c));
  return Buffer.concat(parts);
}

describe('streamed multipart body', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'rportcli-mp-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('is valid multipart/form-data of exactly the announced length, fields first, file intact', async () => {
    const bytes = randomBytes(700 * 1024 + 3);
    const path = join(dir, 'we "quote"\nd.bin');
    await writeFile(path, bytes);
    const body = await multipartBody(
      [
        ['client_id', 'a'],
        ['client_id', 'b'],
        ['dest', '/tmp/ü.txt'],
      ],
      { field: 'upload', path, filename: 'we "quote"\nd.bin' },
    );
    const raw = await collect(body.chunks);
    expect(raw.length).to.equal(body.length);
    // Parse with the platform's own multipart parser (undici), not ours.
    const form = await new Request('http://x/', {
      method: 'POST',
      headers: { 'content-type': body.contentType },
      body: new Uint8Array(raw),
    }).formData();
    expect(form.getAll('client_id')).to.deep.equal(['a', 'b']);
    expect(form.get('dest')).to.equal('/tmp/ü.txt');
    const file = form.get('upload') as File;
    expect(file.name).to.equal('we "quote"\nd.bin');
    const got = Buffer.from(await file.arrayBuffer());
    expect(createHash('md5').update(got).digest('hex')).to.equal(
      createHash('md5').update(bytes).digest('hex'),
    );
    expect(raw.indexOf(Buffer.from('name="dest"'))).to.be.lessThan(raw.indexOf(Buffer.from('name="upload"')));
  });

  it('reports progress chunk by chunk up to the file size', async () => {
    const size = 1024 * 1024 + 17;
    const path = join(dir, 'f.bin');
    await writeFile(path, randomBytes(size));
    const seen: number[] = [];
    const body = await multipartBody([], { field: 'upload', path, filename: 'f.bin' }, (sent, total) => {
      expect(total).to.equal(size);
      seen.push(sent);
    });
    await collect(body.chunks);
    expect(seen.length).to.be.greaterThan(3);
    expect(seen).to.deep.equal([...seen].sort((a, b) => a - b));
    expect(seen.at(-1)).to.equal(size);
  });

  it('bad input: a missing file is a LocalFileError naming the path, before anything is sent', async () => {
    const path = join(dir, 'nope.txt');
    const err = await multipartBody([], { field: 'upload', path, filename: 'nope.txt' }).catch(
      (e: unknown) => e,
    );
    expect(err).to.be.instanceOf(LocalFileError);
    expect((err as Error).message).to.equal(`${path}: no such file`);
  });

  it('bad input: a directory is refused naming the path', async () => {
    const err = await multipartBody([], { field: 'upload', path: dir, filename: 'x' }).catch(
      (e: unknown) => e,
    );
    expect((err as Error).message)
      .to.contain(dir)
      .and.contain('directory');
  });
});
