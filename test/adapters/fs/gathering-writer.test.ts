import { expect } from 'chai';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, open, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expectFailingWritesSurface } from './failing-writes.ts';
import { GatheringWriter } from '../../../src/adapters/fs/gathering-writer.ts';
import { SYNC_EVERY } from '../../../src/adapters/fs/early-sync.ts';

describe('GatheringWriter (the staging writer: chunks hashed and written as they are, by writev)', () => {
  let root: string;
  beforeEach(async () => (root = await mkdtemp(join(tmpdir(), 'rport-gathering-writer-'))));
  afterEach(() => rm(root, { recursive: true, force: true }));

  async function written(
    pieces: Uint8Array[],
    batch?: number,
  ): Promise<{ bytes: Buffer; md5: string; size: number }> {
    const path = join(root, `out-${Math.random()}`);
    const file = await open(path, 'wx');
    const md5 = createHash('md5');
    const writer = new GatheringWriter(file, [md5], batch);
    for (const p of pieces) await writer.add(p);
    await writer.finish();
    await file.close();
    return { bytes: await readFile(path), md5: md5.digest('hex'), size: writer.size };
  }

  it('writes the exact bytes in order: more tiny chunks in one batch than one writev takes, then large ones crossing batch edges', async () => {
    const data = randomBytes(300 * 1024 + 7);
    const pieces: Buffer[] = [];
    for (let at = 0; at < 30_000; at += 10) pieces.push(data.subarray(at, at + 10)); // 3,000 chunks: over IOV_MAX (1024)
    for (let at = 30_000; at < data.length; at += 70_001)
      pieces.push(data.subarray(at, Math.min(data.length, at + 70_001)));
    const out = await written(pieces, 64 * 1024);
    expect(out.bytes.equals(data)).to.equal(true);
    expect(out.size).to.equal(data.length);
    expect(out.md5).to.equal(createHash('md5').update(data).digest('hex'));
  });

  it('an empty file: no chunk, or only empty chunks', async () => {
    expect((await written([])).bytes.length).to.equal(0);
    expect((await written([Buffer.alloc(0), Buffer.alloc(0)])).size).to.equal(0);
  });

  it('past SYNC_EVERY bytes (early data syncs beside the writes) the file is still exact', async () => {
    const piece = randomBytes(256 * 1024);
    const count = (2 * SYNC_EVERY) / piece.length + 3;
    const expected = createHash('md5');
    const pieces = Array.from({ length: count }, (_, i) => {
      const chunk = Buffer.from(piece); // a fresh buffer per chunk, as a socket gives
      chunk.writeUInt32BE(i, 0);
      expected.update(chunk);
      return chunk;
    });
    const out = await written(pieces);
    expect(out.size).to.equal(count * piece.length);
    expect(out.md5).to.equal(expected.copy().digest('hex'));
    expect(createHash('md5').update(out.bytes).digest('hex')).to.equal(expected.digest('hex'));
  });

  it('a failing write surfaces from add or finish, never as an unhandled rejection, and abandon settles', () =>
    expectFailingWritesSurface(root, (file) => new GatheringWriter(file, [createHash('md5')], 1024)));
});
