import { expect } from 'chai';
import { createHash, randomUUID } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FsStagingStore } from '../../../src/adapters/fs/fs-staging-store.ts';
import { UploadTooLargeError } from '../../../src/ports/staging-store.ts';

async function* chunks(...parts: (string | Buffer)[]): AsyncIterable<Uint8Array> {
  for (const p of parts) yield Buffer.from(p);
}

describe('FsStagingStore (real filesystem)', () => {
  let root: string;
  let store: FsStagingStore;
  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'rportd-staging-'));
    store = new FsStagingStore(join(root, 'filepush'));
    await store.init();
  });
  afterEach(() => rm(root, { recursive: true, force: true }));

  it('stages the exact bytes as <uuid>_rport_filepush, mode 0600 in a 0700 dir, with md5 and sha256', async () => {
    const uuid = randomUUID();
    const staged = await store.stage(uuid, chunks('hello ', 'world'), 100);
    const path = join(store.dir, `${uuid}_rport_filepush`);
    expect(await readFile(path, 'utf8')).to.equal('hello world');
    expect(staged).to.deep.equal({
      uuid,
      name: `${uuid}_rport_filepush`,
      size: 11,
      md5: createHash('md5').update('hello world').digest('hex'),
      sha256: createHash('sha256').update('hello world').digest('hex'),
    });
    expect((await stat(path)).mode & 0o777).to.equal(0o600);
    expect((await stat(store.dir)).mode & 0o777).to.equal(0o700);
  });

  it('over the limit: UploadTooLargeError and the partial file removed', async () => {
    const uuid = randomUUID();
    let err: unknown;
    try {
      await store.stage(uuid, chunks('12345', '67890', 'x'), 10);
    } catch (e) {
      err = e;
    }
    expect(err).to.be.instanceOf(UploadTooLargeError);
    expect(await readdir(store.dir)).to.deep.equal([]);
  });

  it('exactly at the limit is accepted', async () => {
    const staged = await store.stage(randomUUID(), chunks('1234567890'), 10);
    expect(staged.size).to.equal(10);
  });

  it('a failing source removes the partial file and passes the error on', async () => {
    async function* broken(): AsyncIterable<Uint8Array> {
      yield Buffer.from('part');
      throw new Error('connection reset');
    }
    let err: unknown;
    try {
      await store.stage(randomUUID(), broken(), 100);
    } catch (e) {
      err = e;
    }
    expect((err as Error).message).to.equal('connection reset');
    expect(await readdir(store.dir)).to.deep.equal([]);
  });

  it('a name that is not a server uuid is refused (no path tricks)', async () => {
    let err: unknown;
    try {
      await store.stage('../../etc/passwd', chunks('x'), 10);
    } catch (e) {
      err = e;
    }
    expect((err as Error).message).to.match(/not a server-generated uuid/);
    expect(await readdir(store.dir)).to.deep.equal([]);
  });

  it('remove deletes a staged file and ignores a missing one', async () => {
    const uuid = randomUUID();
    await store.stage(uuid, chunks('x'), 10);
    await store.remove(uuid);
    await store.remove(uuid);
    expect(await readdir(store.dir)).to.deep.equal([]);
  });

  it('sweep removes stale staged files only', async () => {
    await store.stage(randomUUID(), chunks('a'), 10);
    await store.stage(randomUUID(), chunks('b'), 10);
    await writeFile(join(store.dir, 'keep.txt'), 'other');
    expect(await store.sweep()).to.equal(2);
    expect(await readdir(store.dir)).to.deep.equal(['keep.txt']);
  });

  it("rename moves a staged file to the caller's uuid; an existing name fails EEXIST and both files stay", async () => {
    const [a, b, c] = [randomUUID(), randomUUID(), randomUUID()];
    const staged = await store.stage(a, chunks('first'), 100);
    const moved = await store.rename(staged, b);
    expect(moved).to.deep.equal({ ...staged, uuid: b, name: `${b}_rport_filepush` });
    expect(await readdir(store.dir)).to.deep.equal([`${b}_rport_filepush`]);
    const other = await store.stage(c, chunks('second'), 100);
    const err = await store.rename(other, b).catch((e: NodeJS.ErrnoException) => e);
    expect((err as NodeJS.ErrnoException).code).to.equal('EEXIST');
    expect(await readFile(join(store.dir, `${b}_rport_filepush`), 'utf8')).to.equal('first');
    expect(await readFile(join(store.dir, `${c}_rport_filepush`), 'utf8')).to.equal('second');
    const tricky = await store.rename(other, '../x').catch((e: Error) => e);
    expect((tricky as Error).message).to.match(/not a server-generated uuid/);
    expect(await readdir(store.dir)).to.have.length(2);
  });
});
