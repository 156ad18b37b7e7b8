import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, symlink, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FsLocalFiles } from '../../../src/adapters/fs/fs-local-files.ts';
import { WRITE_BATCH } from '../../../src/adapters/fs/hashing-writer.ts';

/**
 * The bytes in pieces of `piece`, running `between` once two batches have been handed on: the writer
 * then has the first batch compared (it waits for that buffer before filling it again).
 */
async function* pieces(
  data: Buffer,
  piece: number,
  between?: () => Promise<void>,
): AsyncIterable<Uint8Array> {
  for (let at = 0; at < data.length; at += piece) {
    yield data.subarray(at, at + piece);
    if (at === 2 * WRITE_BATCH + piece) await between?.();
  }
}

describe('writeTemp compareWith (real files): a forced push tells whether it changed the content', () => {
  let root: string;
  let files: FsLocalFiles;
  let n = 0;
  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'rport-compare-'));
    files = new FsLocalFiles({ dataDir: join(root, 'data') });
  });
  afterEach(() => rm(root, { recursive: true, force: true }));

  const write = async (
    data: Buffer,
    old: string,
    between?: () => Promise<void>,
  ): Promise<boolean | undefined> =>
    (await files.writeTemp(`t${++n}_rport_filepush`, pieces(data, 256 * 1024, between), old)).sameAs;

  it('compares every batch: files of three batches and more equal, then differing in their last byte or their first', async () => {
    const data = randomBytes(3 * WRITE_BATCH + 7);
    const old = join(root, 'old');
    await writeFile(old, data);
    expect(await write(data, old)).to.equal(true);
    const last = Buffer.from(data);
    last[last.length - 1] ^= 1;
    expect(await write(last, old)).to.equal(false);
    const first = Buffer.from(data);
    first[0] ^= 1;
    expect(await write(first, old)).to.equal(false);
    expect(await write(data.subarray(0, WRITE_BATCH), old)).to.equal(false);
  });

  it('an old file changed while the temp file is written counts as different, even with the same bytes', async () => {
    const data = randomBytes(4 * WRITE_BATCH);
    const old = join(root, 'old');
    await writeFile(old, data);
    let touched = false;
    const touch = async (): Promise<void> => {
      await utimes(old, new Date(1e12), new Date(1e12));
      touched = true;
    };
    expect(await write(data, old, touch)).to.equal(false);
    expect(touched).to.equal(true);
    expect(await write(data, old)).to.equal(true);
  });

  it('bad input: a final symlink to a file of the same bytes is not followed; an empty file equals an empty file', async () => {
    const data = Buffer.from('same bytes');
    await writeFile(join(root, 'old'), data);
    await symlink(join(root, 'old'), join(root, 'link'));
    expect(await write(data, join(root, 'link'))).to.equal(false);
    await writeFile(join(root, 'empty'), '');
    expect(await write(Buffer.alloc(0), join(root, 'empty'))).to.equal(true);
  });
});
