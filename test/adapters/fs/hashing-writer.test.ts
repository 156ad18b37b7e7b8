import { expect } from 'chai';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, open, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expectFailingWritesSurface } from './failing-writes.ts';
import { HashingWriter } from '../../../src/adapters/fs/hashing-writer.ts';
import { SYNC_EVERY } from '../../../src/adapters/fs/early-sync.ts';

describe('HashingWriter (hash while the previous batch is written)', () => {
  let root: string;
  beforeEach(async () => (root = await mkdtemp(join(tmpdir(), 'rport-hashing-writer-'))));
  afterEach(() => rm(root, { recursive: true, force: true }));

  it('writes the exact bytes in order across batches, from big chunks and from many tiny ones (more than one batch each), with the right hash and size', async () => {
    const data = randomBytes(300 * 1024 + 7);
    const pieces: Buffer[] = [];
    // Tiny pieces first (more than writev takes at once), then large ones crossing batch edges.
    for (let at = 0; at < 2000; at += 10) pieces.push(data.subarray(at, at + 10));
    for (let at = 2000; at < data.length; at += 70_001)
      pieces.push(data.subarray(at, Math.min(data.length, at + 70_001)));
    const path = join(root, 'out');
    const file = await open(path, 'wx');
    const md5 = createHash('md5');
    const writer = new HashingWriter(file, [md5], 64 * 1024);
    for (const p of pieces) await writer.add(p);
    await writer.finish();
    await file.close();
    expect((await readFile(path)).equals(data)).to.equal(true);
    expect(writer.size).to.equal(data.length);
    expect(md5.digest('hex')).to.equal(createHash('md5').update(data).digest('hex'));
  });

  it('copies each chunk: a caller reusing one buffer for every chunk (as the SFTP source does) still gets the exact bytes', async () => {
    const data = randomBytes(5 * 64 * 1024 + 123);
    const reused = Buffer.alloc(50_000);
    const path = join(root, 'reused');
    const file = await open(path, 'wx');
    const md5 = createHash('md5');
    const writer = new HashingWriter(file, [md5], 64 * 1024);
    for (let at = 0; at < data.length; at += reused.length) {
      const n = data.copy(reused, 0, at, Math.min(data.length, at + reused.length));
      await writer.add(reused.subarray(0, n));
      reused.fill(0xee); // what a lender does next: the writer must not see it
    }
    await writer.finish();
    await file.close();
    expect((await readFile(path)).equals(data)).to.equal(true);
    expect(md5.digest('hex')).to.equal(createHash('md5').update(data).digest('hex'));
  });

  it('past SYNC_EVERY bytes (early data syncs beside the writes) the file is still exact', async () => {
    const piece = randomBytes(256 * 1024);
    const count = (2 * SYNC_EVERY) / piece.length + 3;
    const path = join(root, 'big');
    const file = await open(path, 'wx');
    const md5 = createHash('md5');
    const expected = createHash('md5');
    const writer = new HashingWriter(file, [md5]);
    for (let i = 0; i < count; i++) {
      const chunk = Buffer.from(piece); // a fresh buffer per chunk, as a socket gives
      chunk.writeUInt32BE(i, 0);
      expected.update(chunk);
      await writer.add(chunk);
    }
    await writer.finish();
    await file.close();
    expect(writer.size).to.equal(count * piece.length);
    expect(md5.digest('hex')).to.equal(expected.copy().digest('hex'));
    const onDisk = createHash('md5')
      .update(await readFile(path))
      .digest('hex');
    expect(onDisk).to.equal(expected.digest('hex'));
  });

  it('a failing write surfaces from add or finish, never as an unhandled rejection, and abandon settles', () =>
    expectFailingWritesSurface(root, (file) => new HashingWriter(file, [createHash('md5')], 1024)));
});
