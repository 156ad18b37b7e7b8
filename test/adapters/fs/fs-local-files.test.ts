import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { lstat, mkdir, mkdtemp, readFile, readdir, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FsLocalFiles } from '../../../src/adapters/fs/fs-local-files.ts';
import { failure, md5 } from './agent-fixture.ts';

async function* bytes(...parts: string[]): AsyncIterable<Uint8Array> {
  for (const p of parts) yield Buffer.from(p);
}

describe('FsLocalFiles (specific to the real filesystem)', () => {
  let root: string;
  let files: FsLocalFiles;
  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'rport-lf-'));
    files = new FsLocalFiles({ dataDir: join(root, 'data') });
  });
  afterEach(() => rm(root, { recursive: true, force: true }));

  it('writes the temp file in {data_dir}/filepush (0700) with mode 0600, md5 computed while streaming', async () => {
    const t = await files.writeTemp('u1_rport_filepush', bytes('ab', 'cd'));
    expect(t).to.deep.equal({
      path: join(root, 'data/filepush/u1_rport_filepush'),
      size: 4,
      md5: md5('abcd'),
    });
    expect((await stat(t.path)).mode & 0o777).to.equal(0o600);
    expect((await stat(join(root, 'data/filepush'))).mode & 0o777).to.equal(0o700);
  });

  it('tightens an existing temp dir to 0700', async () => {
    await mkdir(join(root, 'data/filepush'), { recursive: true, mode: 0o777 });
    await files.writeTemp('u2_rport_filepush', bytes('x'));
    expect((await stat(join(root, 'data/filepush'))).mode & 0o777).to.equal(0o700);
  });

  it('bad input: a temp name that is not <id>_rport_filepush is refused naming it, and nothing is created', async () => {
    for (const name of ['../escape_rport_filepush', 'x', 'a/b_rport_filepush', '.._rport_filepush']) {
      const e = await failure(files.writeTemp(name, bytes('x')));
      expect(e.code).to.equal('EINVAL');
      expect(e.message).to.contain(name);
    }
    expect(await readdir(root)).to.deep.equal([]);
  });

  it('a symlink planted at the temp name is not followed: the write fails and the link target is untouched', async () => {
    const victim = join(root, 'victim');
    await writeFile(victim, 'victim');
    await mkdir(join(root, 'data/filepush'), { recursive: true, mode: 0o700 });
    await symlink(victim, join(root, 'data/filepush/p_rport_filepush'));
    const e = await failure(files.writeTemp('p_rport_filepush', bytes('evil')));
    expect(e.code).to.equal('EEXIST');
    expect(e.message).to.contain('p_rport_filepush');
    expect(await readFile(victim, 'utf8')).to.equal('victim');
  });

  it('a failing source removes the temp file and the error passes through', async () => {
    async function* broken(): AsyncIterable<Uint8Array> {
      yield Buffer.from('part');
      throw new Error('connection lost');
    }
    const e = await failure(files.writeTemp('b_rport_filepush', broken()));
    expect(e.message).to.contain('connection lost');
    expect(await readdir(join(root, 'data/filepush'))).to.deep.equal([]);
  });

  it('place refuses a parent that is a symlink (ELOOP, naming it), even one leading somewhere harmless', async () => {
    await mkdir(join(root, 'real'));
    await symlink(join(root, 'real'), join(root, 'link'));
    const t = await files.writeTemp('l_rport_filepush', bytes('x'));
    const e = await failure(files.place(t.path, join(root, 'link/f.txt'), 0o755));
    expect(e.code).to.equal('ELOOP');
    expect(e.message).to.contain(join(root, 'link'));
    expect(await readdir(join(root, 'real'))).to.deep.equal([]);
  });

  it('place onto a directory that appeared at dest fails naming it (EISDIR); the directory and what it holds are untouched', async () => {
    await mkdir(join(root, 'dest/f.txt'), { recursive: true });
    await writeFile(join(root, 'dest/f.txt/inside'), 'kept');
    const t = await files.writeTemp('d_rport_filepush', bytes('x'));
    const e = await failure(files.place(t.path, join(root, 'dest/f.txt'), 0o755));
    expect(e.code).to.equal('EISDIR');
    expect(e.message).to.equal(`${join(root, 'dest/f.txt')} is an existing directory`);
    expect(await readdir(join(root, 'dest/f.txt'))).to.deep.equal(['inside']);
    expect(
      (await lstat(t.path)).isFile(),
      'the temp file is left for the caller (ReceiveFile) to remove',
    ).to.equal(true);
  });

  it('resolveParents resolves the deepest existing parent and keeps the missing rest', async () => {
    await mkdir(join(root, 'real'));
    await symlink(join(root, 'real'), join(root, 'link'));
    expect(await files.resolveParents(join(root, 'link/new/dir/f.txt'))).to.equal(
      join(root, 'real/new/dir/f.txt'),
    );
  });

  it('status is lstat: a link is reported as a link; a missing path or one under a file is undefined', async () => {
    await writeFile(join(root, 'f'), 'abc');
    await symlink(join(root, 'f'), join(root, 'l'));
    expect(await files.status(join(root, 'l'))).to.include({ type: 'symlink' });
    expect(await files.status(join(root, 'f'))).to.include({ type: 'file', size: 3 });
    expect(await files.status(join(root, 'missing'))).to.equal(undefined);
    expect(await files.status(join(root, 'f/under'))).to.equal(undefined);
  });

  it('md5 and chmod never go through a link', async () => {
    await writeFile(join(root, 'f'), 'abc');
    await symlink(join(root, 'f'), join(root, 'l'));
    expect((await failure(files.md5(join(root, 'l')))).code).to.equal('ELOOP');
    expect((await failure(files.chmod(join(root, 'l'), 0o777))).code).to.equal('ELOOP');
    expect((await stat(join(root, 'f'))).mode & 0o777).to.not.equal(0o777);
  });

  it('changeInPlace never goes through a link, at the end or on the way; the target keeps its mode and owner', async () => {
    await mkdir(join(root, 'real'));
    await writeFile(join(root, 'real/f'), 'abc', { mode: 0o644 });
    await symlink(join(root, 'real/f'), join(root, 'l'));
    await symlink(join(root, 'real'), join(root, 'linked'));
    const atEnd = await failure(files.changeInPlace(join(root, 'l'), { mode: 0o600 }));
    expect(atEnd.code).to.equal('ELOOP');
    expect(atEnd.message).to.contain(join(root, 'l'));
    const onTheWay = await failure(files.changeInPlace(join(root, 'linked/f'), { mode: 0o600, uid: 65534 }));
    expect(onTheWay.code).to.equal('ELOOP');
    expect(onTheWay.message).to.contain(join(root, 'linked'));
    const s = await stat(join(root, 'real/f'));
    expect([s.mode & 0o7777, s.uid]).to.deep.equal([0o644, process.getuid!()]);
  });

  it('changeInPlace refuses what is not a regular file (a FIFO is not blocked on), naming it', async () => {
    execFileSync('mkfifo', [join(root, 'fifo')]);
    const e = await failure(files.changeInPlace(join(root, 'fifo'), { mode: 0o600 }));
    expect(e.message).to.contain(`${join(root, 'fifo')} is not a regular file`);
    expect((await lstat(join(root, 'fifo'))).mode & 0o7777).to.not.equal(0o600);
  });

  if (process.getuid?.() === 0)
    it('changeInPlace as root: owner first, then the mode, so a setuid bit the chown clears is set again', async () => {
      await writeFile(join(root, 'f'), 'abc', { mode: 0o755 });
      await files.changeInPlace(join(root, 'f'), { uid: 65534, gid: 65534, mode: 0o4755 });
      const s = await stat(join(root, 'f'));
      expect([s.uid, s.gid, s.mode & 0o7777]).to.deep.equal([65534, 65534, 0o4755]);
    });

  it('errors keep the node code and name the path', async () => {
    const e = await failure(files.md5(join(root, 'nope')));
    expect(e.code).to.equal('ENOENT');
    expect(e.message).to.contain(join(root, 'nope'));
  });

  it('lookup: names and numeric ids; an unknown name names the account', async () => {
    expect(await files.lookup({ user: 'root', group: 'root' })).to.deep.equal({ uid: 0, gid: 0 });
    expect(await files.lookup({ user: '4242' })).to.deep.equal({ uid: 4242 });
    const e = await failure(files.lookup({ group: 'no-such-group-rport' }));
    expect(e.message).to.contain('group "no-such-group-rport" does not exist');
    expect((await failure(files.lookup({ user: '--reference=/etc/shadow' }))).code).to.equal('EINVAL');
  });

  it('sweep removes only *_rport_filepush entries', async () => {
    await files.writeTemp('s1_rport_filepush', bytes('x'));
    await files.writeTemp('s2_rport_filepush', bytes('y'));
    await writeFile(join(root, 'data/filepush/keep.txt'), 'keep');
    expect(await files.sweep()).to.equal(2);
    expect(await readdir(join(root, 'data/filepush'))).to.deep.equal(['keep.txt']);
  });

  describe('EXDEV: temp dir and destination on different filesystems', function () {
    let mnt: string | undefined;
    before(async function () {
      const where = await mkdtemp(join(tmpdir(), 'rport-tmpfs-'));
      try {
        execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=8m', 'tmpfs', where], { stdio: 'pipe' });
        mnt = where;
      } catch (e) {
        await rm(where, { recursive: true, force: true });
        if (process.env.CI === 'true')
          throw new Error(
            `EXDEV test must run under CI, but mount -t tmpfs failed: ${(e as Error).message}`,
            { cause: e },
          );
        console.warn(`SKIPPED: EXDEV tests need mount -t tmpfs (root): ${(e as Error).message}`);
        this.skip();
      }
    });
    after(async () => {
      if (!mnt) return;
      execFileSync('umount', [mnt]);
      await rm(mnt, { recursive: true, force: true });
    });

    it('copies beside the destination, then renames: the old inode is never written into, no partial is left', async () => {
      const onTmpfs = new FsLocalFiles({ dataDir: join(mnt!, 'data') });
      const dest = join(root, 'dest.txt');
      await writeFile(dest, 'old');
      const before = await stat(dest);
      const t = await onTmpfs.writeTemp('x_rport_filepush', bytes('new over EXDEV'));
      await onTmpfs.chmod(t.path, 0o640);
      await onTmpfs.place(t.path, dest, 0o755);
      expect(await readFile(dest, 'utf8')).to.equal('new over EXDEV');
      const after = await stat(dest);
      expect(after.ino).to.not.equal(before.ino);
      expect(after.mode & 0o7777).to.equal(0o640);
      expect(await readdir(root)).to.deep.equal(['dest.txt']);
      expect(await lstat(t.path).catch(() => undefined)).to.equal(undefined);
    });
  });
});
