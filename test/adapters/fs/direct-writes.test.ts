import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { constants as C } from 'node:fs';
import { mkdtemp, open, readFile, rm, type FileHandle } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { allocateAligned, isDirectWritable } from '../../../src/adapters/fs/aligned-buffers.ts';
import { FsLocalFiles } from '../../../src/adapters/fs/fs-local-files.ts';
import { HashingWriter, type OpenDirect } from '../../../src/adapters/fs/hashing-writer.ts';

const BATCH = 64 * 1024;
const DIRECT = C.O_WRONLY | C.O_DIRECT;

/** Pages of path in the page cache (util-linux fincore), or undefined without fincore. */
function cachedPages(path: string): number | undefined {
  try {
    return Number(
      execFileSync('fincore', ['--raw', '--noheadings', '-o', 'PAGES', path], { encoding: 'utf8' }).trim(),
    );
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') {
      if (process.env.CI === 'true')
        throw new Error('fincore (util-linux) is missing: the page cache check needs it', { cause: e });
      console.warn('      SKIPPED the page cache check: fincore (util-linux) is not installed');
      return undefined;
    }
    throw e;
  }
}

/** A handle whose writes go to `real` until `failAt` (a write's index), then fail with `code`; remembers close(). */
function failingHandle(real: FileHandle | undefined, failAt: number, code: string) {
  let writes = 0;
  const h = {
    closed: false,
    async write(b: Buffer, off: number, len: number, pos: number) {
      if (writes++ >= failAt) throw Object.assign(new Error(`${code}: refused`), { code });
      return real!.write(b, off, len, pos);
    },
    async close() {
      h.closed = true;
      await real?.close();
    },
  };
  return h;
}

describe('direct writes: whole batches past the page cache (O_DIRECT), the rest through it', () => {
  let root: string;
  beforeEach(async () => (root = await mkdtemp(join(tmpdir(), 'rport-direct-'))));
  afterEach(() => rm(root, { recursive: true, force: true }));

  /** Writes data in 10,000-byte chunks through a HashingWriter with openDirect; the writer and md5 after finish. */
  async function write(path: string, data: Buffer, openDirect: OpenDirect | undefined) {
    const file = await open(path, 'wx');
    const md5 = createHash('md5');
    const writer = new HashingWriter(file, [md5], BATCH, 2, undefined, openDirect);
    try {
      for (let at = 0; at < data.length; at += 10_000) await writer.add(data.subarray(at, at + 10_000));
      await writer.finish();
    } catch (e) {
      await writer.abandon();
      throw e;
    } finally {
      await file.close();
    }
    return { writer, md5: md5.digest('hex') };
  }

  it('only page-aligned buffers of whole 4 KiB blocks qualify: allocateAligned ones, not ordinary or shifted views', () => {
    const aligned = allocateAligned(BATCH);
    expect(isDirectWritable(aligned)).to.equal(true);
    expect(isDirectWritable(aligned.subarray(4096))).to.equal(true);
    expect(isDirectWritable(aligned.subarray(1))).to.equal(false);
    expect(isDirectWritable(aligned.subarray(0, 1000))).to.equal(false);
    expect(isDirectWritable(Buffer.allocUnsafeSlow(BATCH))).to.equal(false);
    expect(isDirectWritable(allocateAligned(BATCH, true))).to.equal(true);
    expect(allocateAligned(BATCH, true).buffer).to.be.instanceOf(SharedArrayBuffer);
    // Not a whole number of WebAssembly pages: an ordinary buffer, which never goes direct.
    expect(isDirectWritable(allocateAligned(4096))).to.equal(false);
  });

  it('every whole batch goes with O_DIRECT and only the partial last one through the page cache; bytes and md5 exact', async () => {
    const data = randomBytes(5 * BATCH + 1000);
    const path = join(root, 'direct');
    let opened = 0;
    const { writer, md5 } = await write(path, data, () => (opened++, open(path, DIRECT)));
    expect((await readFile(path)).equals(data)).to.equal(true);
    expect(md5).to.equal(createHash('md5').update(data).digest('hex'));
    expect(writer.directBytes).to.equal(5 * BATCH);
    expect(opened).to.equal(1);
    // What went direct never entered the page cache: at most the tail's page is cached (read back above
    // with a buffered read, it may be all cached again: so check a fresh file before reading it).
    const again = join(root, 'direct-again');
    await write(again, data, () => open(again, DIRECT));
    const pages = cachedPages(again);
    if (pages !== undefined) expect(pages).to.be.at.most(1);
  });

  it('a file smaller than one batch never opens a second handle', async () => {
    const data = randomBytes(BATCH - 1);
    const path = join(root, 'small');
    let opened = 0;
    const { writer } = await write(path, data, () => (opened++, open(path, DIRECT)));
    expect((await readFile(path)).equals(data)).to.equal(true);
    expect([opened, writer.directBytes]).to.deep.equal([0, 0]);
  });

  it('a file system that refuses O_DIRECT at open: every batch through the page cache, exact bytes', async () => {
    const data = randomBytes(3 * BATCH + 5);
    const path = join(root, 'refused-open');
    const { writer, md5 } = await write(path, data, () =>
      Promise.reject(Object.assign(new Error('EINVAL'), { code: 'EINVAL' })),
    );
    expect((await readFile(path)).equals(data)).to.equal(true);
    expect(md5).to.equal(createHash('md5').update(data).digest('hex'));
    expect(writer.directBytes).to.equal(0);
  });

  it('EINVAL at a later direct write: the batches before stay, that one and the rest go through the page cache, and the handle is closed', async () => {
    const data = randomBytes(6 * BATCH + 77);
    const path = join(root, 'refused-later');
    let handle: ReturnType<typeof failingHandle> | undefined;
    const { writer } = await write(path, data, async () => {
      handle = failingHandle(await open(path, DIRECT), 2, 'EINVAL');
      return handle as unknown as FileHandle;
    });
    expect((await readFile(path)).equals(data)).to.equal(true);
    expect(writer.directBytes).to.equal(2 * BATCH);
    expect(handle?.closed).to.equal(true);
  });

  it('any other error of a direct write (EIO) fails the file from add or finish, and the direct handle is closed', async () => {
    const data = randomBytes(4 * BATCH);
    const path = join(root, 'eio');
    let handle: ReturnType<typeof failingHandle> | undefined;
    let err: NodeJS.ErrnoException | undefined;
    try {
      await write(
        path,
        data,
        async () => (handle = failingHandle(undefined, 0, 'EIO')) as unknown as FileHandle,
      );
    } catch (e) {
      err = e as NodeJS.ErrnoException;
    }
    expect(err?.code).to.equal('EIO');
    expect(handle?.closed).to.equal(true);
  });

  it('FsLocalFiles.writeTemp writes a large temp file past the page cache by default, and through it with directWrites: false', async () => {
    const data = randomBytes(3 * 1024 * 1024 + 5);
    const md5 = createHash('md5').update(data).digest('hex');
    async function* chunks() {
      for (let at = 0; at < data.length; at += 100_000) yield data.subarray(at, at + 100_000);
    }
    for (const [directWrites, hashWorker] of [
      [true, false],
      [true, true],
      [false, false],
    ] as const) {
      const files = new FsLocalFiles({
        dataDir: join(root, `data-${directWrites}-${hashWorker}`),
        directWrites,
        hashWorker,
      });
      const temp = await files.writeTemp('direct_rport_filepush', chunks());
      expect(temp.md5, `directWrites ${directWrites}, hashWorker ${hashWorker}`).to.equal(md5);
      const pages = cachedPages(temp.path);
      // 3 MiB went direct: at most the last batch's pages (1 MiB, 256 pages) are cached.
      if (pages !== undefined && directWrites) expect(pages).to.be.at.most(256);
      expect((await readFile(temp.path)).equals(data)).to.equal(true);
    }
  });
});
