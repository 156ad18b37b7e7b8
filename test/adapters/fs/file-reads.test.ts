import { expect } from 'chai';
import { mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sameBytes } from '../../../src/adapters/fs/file-reads.ts';

describe('sameBytes (real files): a forced push tells whether it changed the content', () => {
  let dir: string;
  beforeEach(async () => (dir = await mkdtemp(join(tmpdir(), 'same-bytes-'))));
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it('compares past the first chunk: files of 1 MiB equal, then differing in their last byte', async () => {
    const a = Buffer.alloc(1024 * 1024 + 7, 0x61);
    const b = Buffer.from(a);
    await writeFile(join(dir, 'a'), a);
    await writeFile(join(dir, 'b'), b);
    expect(await sameBytes(join(dir, 'a'), join(dir, 'b'))).to.equal(true);
    b[b.length - 1] = 0x62;
    await writeFile(join(dir, 'b'), b);
    expect(await sameBytes(join(dir, 'a'), join(dir, 'b'))).to.equal(false);
  });

  it('bad input: a final symlink is not followed (ELOOP), and an empty file equals an empty file', async () => {
    await writeFile(join(dir, 'a'), 'x');
    await symlink(join(dir, 'a'), join(dir, 'link'));
    const err = await sameBytes(join(dir, 'a'), join(dir, 'link')).catch((e: unknown) => e);
    expect((err as { code?: string }).code).to.equal('ELOOP');
    await writeFile(join(dir, 'e1'), '');
    await writeFile(join(dir, 'e2'), '');
    expect(await sameBytes(join(dir, 'e1'), join(dir, 'e2'))).to.equal(true);
  });
});
