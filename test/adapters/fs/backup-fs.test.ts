import { expect } from 'chai';
import { lstat, mkdtemp, readFile, readlink, rm, symlink, writeFile, chmod } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FsLocalFiles } from '../../../src/adapters/fs/fs-local-files.ts';
import { failure } from './agent-fixture.ts';

describe('FsLocalFiles: backups beside the destination, in the pinned directory', () => {
  let root: string;
  let files: FsLocalFiles;

  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'rport-bak-'));
    files = new FsLocalFiles({ dataDir: join(root, 'data') });
  });
  afterEach(() => rm(root, { recursive: true, force: true }));

  it('backup keeps the bytes and the mode as <dest>.<stamp>.bak and returns that path', async () => {
    const dest = join(root, 'app.conf');
    await writeFile(dest, 'v1');
    await chmod(dest, 0o640);
    const kept = await files.backup(dest, '20261204T193000Z');
    expect(kept).to.equal(`${dest}.20261204T193000Z.bak`);
    expect(await readFile(kept, 'utf8')).to.equal('v1');
    const s = await lstat(kept);
    expect(s.mode & 0o7777).to.equal(0o640);
    expect(s.uid).to.equal((await lstat(dest)).uid);
  });

  it('a link planted at the backup name: EEXIST naming it, the link and its target untouched', async () => {
    const dest = join(root, 'app.conf');
    const target = join(root, 'precious');
    await writeFile(dest, 'v1');
    await writeFile(target, 'precious');
    await symlink(target, `${dest}.20261204T193000Z.bak`);
    const e = await failure(files.backup(dest, '20261204T193000Z'));
    expect(e.code).to.equal('EEXIST');
    expect(e.message).to.contain(`${dest}.20261204T193000Z.bak already exists`);
    expect(await readFile(target, 'utf8')).to.equal('precious');
    expect(await readlink(`${dest}.20261204T193000Z.bak`)).to.equal(target);
  });

  it('a parent that is a link: refused (ELOOP), nothing made through it', async () => {
    const real = join(root, 'real');
    await rm(real, { force: true });
    await import('node:fs/promises').then((f) => f.mkdir(real));
    await writeFile(join(real, 'app.conf'), 'v1');
    await symlink(real, join(root, 'via'));
    const e = await failure(files.backup(join(root, 'via', 'app.conf'), '20261204T193000Z'));
    expect(e.code).to.equal('ELOOP');
    expect(await failure(lstat(join(real, 'app.conf.20261204T193000Z.bak')))).to.have.property(
      'code',
      'ENOENT',
    );
  });

  it('listBeside types entries without following links; removeBeside removes regular files only', async () => {
    const dest = join(root, 'app.conf');
    await writeFile(dest, 'v1');
    await writeFile(`${dest}.20200101T000000Z.bak`, 'old');
    await symlink(dest, `${dest}.20200101T000001Z.bak`);
    const listed = await files.listBeside(dest);
    expect(listed).to.deep.include({ name: 'app.conf.20200101T000000Z.bak', type: 'file' });
    expect(listed).to.deep.include({ name: 'app.conf.20200101T000001Z.bak', type: 'symlink' });
    expect(await files.removeBeside(dest, 'app.conf.20200101T000001Z.bak')).to.equal(false);
    expect(await readlink(`${dest}.20200101T000001Z.bak`)).to.equal(dest);
    expect(await files.removeBeside(dest, 'app.conf.20200101T000000Z.bak')).to.equal(true);
    expect(await failure(lstat(`${dest}.20200101T000000Z.bak`))).to.have.property('code', 'ENOENT');
    expect(await readFile(dest, 'utf8')).to.equal('v1');
    expect(await files.removeBeside(dest, 'missing')).to.equal(false);
  });
});
