import { expect } from 'chai';
import { mkdir, mkdtemp, readdir, realpath, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PinnedDirectory } from '../../../src/adapters/fs/pinned-directory.ts';
import { failure } from './agent-fixture.ts';

describe('PinnedDirectory (a directory held open, reached without symlinks)', () => {
  let root: string;
  beforeEach(async () => {
    root = await realpath(await mkdtemp(join(tmpdir(), 'rport-pin-')));
  });
  afterEach(() => rm(root, { recursive: true, force: true }));

  it('an existing directory, written with doubled and trailing slashes, is held under its plain name', async () => {
    await mkdir(join(root, 'a/b'), { recursive: true });
    const dir = await PinnedDirectory.open(`${root}//a/b/`);
    try {
      expect(dir.path).to.equal(join(root, 'a/b'));
      await writeFile(dir.entry('f.txt'), 'x');
      expect(await readdir(join(root, 'a/b'))).to.deep.equal(['f.txt']);
    } finally {
      await dir.close();
    }
  });

  it('a symlink anywhere on the way is refused (ELOOP, naming it), even when the directory behind it exists', async () => {
    await mkdir(join(root, 'real/sub'), { recursive: true });
    await symlink(join(root, 'real'), join(root, 'link'));
    for (const path of [join(root, 'link'), join(root, 'link/sub')]) {
      const e = await failure(PinnedDirectory.open(path));
      expect(e.code, path).to.equal('ELOOP');
      expect(e.message).to.contain(join(root, 'link'));
    }
  });

  it('a file on the way is refused (ENOTDIR, naming it)', async () => {
    await writeFile(join(root, 'file'), 'x');
    const e = await failure(PinnedDirectory.open(join(root, 'file/sub')));
    expect(e.code).to.equal('ENOTDIR');
    expect(e.message).to.contain(join(root, 'file'));
  });

  it('missing components are created with exactly the mode asked for; without a mode they are an error', async () => {
    const e = await failure(PinnedDirectory.open(join(root, 'new/deeper')));
    expect(e.code).to.equal('ENOENT');
    const dir = await PinnedDirectory.open(join(root, 'new/deeper'), 0o750);
    await dir.close();
    expect((await stat(join(root, 'new'))).mode & 0o777).to.equal(0o750);
    expect((await stat(join(root, 'new/deeper'))).mode & 0o777).to.equal(0o750);
  });
});
