import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { rm, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { StagedContents } from '../../../../src/adapters/ssh/server/staged-contents.ts';
import { tempDir } from '../harness.ts';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('StagedContents: small staged files held in memory for their fetches', () => {
  let dir: string;
  const limits = { maxFileBytes: 1000, maxTotalBytes: 1500, lingerMs: 30 };

  beforeEach(async () => {
    dir = await tempDir('held');
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function file(name: string, bytes: Buffer): Promise<string> {
    const path = join(dir, name);
    await writeFile(path, bytes);
    return path;
  }

  it('reads a small file once: concurrent and later handles share the same bytes', async () => {
    const content = randomBytes(900);
    const path = await file('a', content);
    const held = new StagedContents(limits);
    const [x, y] = await Promise.all([held.acquire(path), held.acquire(path)]);
    const z = await held.acquire(path);
    expect(x?.bytes.equals(content)).to.equal(true);
    expect(x?.stats.size).to.equal(900);
    expect(y?.bytes).to.equal(x?.bytes);
    expect(z?.bytes).to.equal(x?.bytes);
    expect(held.heldBytes).to.equal(900);
  });

  it('an empty file is held too', async () => {
    const path = await file('empty', Buffer.alloc(0));
    const held = new StagedContents(limits);
    expect((await held.acquire(path))?.bytes.length).to.equal(0);
  });

  it('a file over the size limit, or over the total, is not held (read from disk instead)', async () => {
    const held = new StagedContents(limits);
    expect(await held.acquire(await file('big', randomBytes(1001)))).to.equal(undefined);
    expect(held.heldBytes).to.equal(0);
    expect(await held.acquire(await file('first', randomBytes(800)))).to.not.equal(undefined);
    expect(await held.acquire(await file('second', randomBytes(800)))).to.equal(undefined);
    expect(held.heldBytes).to.equal(800);
  });

  it('a missing file or a symlink is not held, and counts nothing', async () => {
    const held = new StagedContents(limits);
    expect(await held.acquire(join(dir, 'nothing'))).to.equal(undefined);
    const target = await file('target', randomBytes(10));
    await symlink(target, join(dir, 'link'));
    expect(await held.acquire(join(dir, 'link'))).to.equal(undefined);
    expect(held.heldBytes).to.equal(0);
  });

  it('lets go of a file once its last handle closed and the linger passed; a handle within the linger keeps it', async () => {
    const path = await file('a', randomBytes(500));
    const held = new StagedContents(limits);
    const first = await held.acquire(path);
    await held.acquire(path);
    held.release(path);
    await sleep(60);
    expect(held.heldBytes, 'one handle still open').to.equal(500);
    held.release(path);
    await sleep(10);
    const again = await held.acquire(path);
    expect(again?.bytes, 'taken again within the linger: the same copy').to.equal(first?.bytes);
    held.release(path);
    await sleep(60);
    expect(held.heldBytes).to.equal(0);
    const reloaded = await held.acquire(path);
    expect(reloaded?.bytes).to.not.equal(first?.bytes);
    expect(reloaded?.bytes.equals(first!.bytes)).to.equal(true);
  });

  it('a release without an acquire changes nothing', async () => {
    const held = new StagedContents(limits);
    held.release(join(dir, 'never'));
    expect(held.heldBytes).to.equal(0);
  });
});
