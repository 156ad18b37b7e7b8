import { expect } from 'chai';
import { chmod, lstat, mkdir, open, readFile, readdir, stat, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { SUCCESS_MESSAGE } from '../../../src/domain/receive-file.ts';
import { makeAgent, md5, NoPrivileges, type Agent } from './agent-fixture.ts';

const isRoot = process.getuid?.() === 0;

describe('ReceiveFile + ApplyOwnership on the real filesystem (FsLocalFiles)', () => {
  let agent: Agent;
  let out: string;
  beforeEach(async () => {
    agent = await makeAgent();
    out = join(agent.root, 'out');
    await mkdir(out);
  });
  afterEach(() => agent.cleanup());

  const tempFiles = async () =>
    (await readdir(join(agent.dataDir, 'filepush')).catch(() => [])).filter((n) =>
      n.endsWith('_rport_filepush'),
    );

  it('writes a new file with the default mode 0764 and creates missing parents with the directory mode 0755', async () => {
    const dest = join(out, 'a/b/new.txt');
    const v = await agent.push(dest, 'hello');
    expect(v).to.deep.equal({ status: 'success', message: SUCCESS_MESSAGE, changed: true });
    expect(await readFile(dest, 'utf8')).to.equal('hello');
    expect((await stat(dest)).mode & 0o7777).to.equal(0o764);
    expect((await stat(join(out, 'a'))).mode & 0o7777).to.equal(0o755);
    expect((await stat(join(out, 'a/b'))).mode & 0o7777).to.equal(0o755);
    expect(await tempFiles()).to.deep.equal([]);
  });

  it('keeps temp files in {data_dir}/filepush with mode 0700', async () => {
    await agent.push(join(out, 'x'), 'x');
    expect((await stat(join(agent.dataDir, 'filepush'))).mode & 0o777).to.equal(0o700);
  });

  it('an existing file without force or sync is ignored, naming the path, and left byte-identical', async () => {
    const dest = join(out, 'keep.txt');
    await writeFile(dest, 'old');
    const v = await agent.push(dest, 'new');
    expect(v.status).to.equal('ignored');
    expect(v.message).to.contain(dest);
    expect(await readFile(dest, 'utf8')).to.equal('old');
    expect(await tempFiles()).to.deep.equal([]);
  });

  it('force replaces the file by rename: a new inode, while an open reader of the old one still sees the old bytes', async () => {
    const dest = join(out, 'f.txt');
    await writeFile(dest, 'old content');
    const before = await stat(dest);
    const reader = await open(dest, 'r');
    try {
      const v = await agent.push(dest, 'new content', { force: true });
      expect(v.status).to.equal('success');
      expect(await readFile(dest, 'utf8')).to.equal('new content');
      expect((await stat(dest)).ino).to.not.equal(before.ino);
      expect((await reader.readFile()).toString()).to.equal('old content');
    } finally {
      await reader.close();
    }
  });

  it('sync with a different md5 replaces the file', async () => {
    const dest = join(out, 's.txt');
    await writeFile(dest, 'v1');
    expect((await agent.push(dest, 'v2', { sync: true })).status).to.equal('success');
    expect(await readFile(dest, 'utf8')).to.equal('v2');
  });

  it('sync with the same md5 but another mode applies the mode in place', async () => {
    const dest = join(out, 'm.txt');
    await writeFile(dest, 'same');
    await chmod(dest, 0o600);
    const ino = (await stat(dest)).ino;
    const v = await agent.push(dest, 'same', { sync: true, mode: 0o640 });
    expect(v.status).to.equal('success');
    expect(v.message).to.contain('mode and owner updated');
    expect((await stat(dest)).mode & 0o7777).to.equal(0o640);
    expect((await stat(dest)).ino).to.equal(ino);
  });

  it('sync where md5, mode and owner all match is ignored and says it is in sync', async () => {
    const dest = join(out, 'same.txt');
    await writeFile(dest, 'same');
    await chmod(dest, 0o764);
    const v = await agent.push(dest, 'same', { sync: true });
    expect(v.status).to.equal('ignored');
    expect(v.message).to.contain('already in sync');
  });

  it('applies the given mode', async () => {
    const dest = join(out, 'mode.txt');
    expect((await agent.push(dest, 'x', { mode: 0o600 })).status).to.equal('success');
    expect((await stat(dest)).mode & 0o7777).to.equal(0o600);
  });

  it('md5 mismatch: error, the destination stays byte-identical and no temp file is left', async () => {
    const dest = join(out, 'guarded.bin');
    await writeFile(dest, 'precious');
    const before = await stat(dest);
    const v = await agent.push(dest, 'tampered', { force: true, md5: md5('something else') });
    expect(v.status).to.equal('error');
    expect(v.message).to.contain('md5 checksum mismatch');
    expect(await readFile(dest, 'utf8')).to.equal('precious');
    expect((await stat(dest)).ino).to.equal(before.ino);
    expect(await tempFiles()).to.deep.equal([]);
  });

  it('an existing directory at dest is refused', async () => {
    await mkdir(join(out, 'dir'));
    const v = await agent.push(join(out, 'dir'), 'x', { force: true });
    expect(v.status).to.equal('error');
    expect(v.message).to.contain('is an existing directory');
  });

  it('a symlink at dest is refused and its target is left alone', async () => {
    const target = join(agent.root, 'target.txt');
    await writeFile(target, 'target');
    await symlink(target, join(out, 'link'));
    const v = await agent.push(join(out, 'link'), 'x', { force: true });
    expect(v.status).to.equal('error');
    expect(v.message).to.contain('symbolic link');
    expect(await readFile(target, 'utf8')).to.equal('target');
    expect((await lstat(join(out, 'link'))).isSymbolicLink()).to.equal(true);
  });

  it('a parent symlinked into a protected dir is refused, and nothing lands there', async () => {
    const guarded = join(agent.root, 'guarded');
    await mkdir(guarded);
    const a = await makeAgent({ protectedPaths: [guarded] });
    try {
      await symlink(guarded, join(out, 'innocent'));
      const v = await a.push(join(out, 'innocent/evil.sh'), '#!/bin/sh');
      expect(v.status).to.equal('error');
      expect(v.message).to.contain('protected path');
      expect(await readdir(guarded)).to.deep.equal([]);
    } finally {
      await a.cleanup();
    }
  });

  it('backup on: force keeps the replaced file as <dest>.<timestamp>.bak', async () => {
    const a = await makeAgent({ backup: true });
    try {
      const dest = join(a.root, 'conf.ini');
      await writeFile(dest, 'old');
      expect((await a.push(dest, 'new', { force: true })).status).to.equal('success');
      expect(await readFile(dest, 'utf8')).to.equal('new');
      expect(await readFile(`${dest}.20240506T070809Z.bak`, 'utf8')).to.equal('old');
    } finally {
      await a.cleanup();
    }
  });

  it('an unknown user is an error naming the account, and nothing is written', async () => {
    const dest = join(out, 'owned.txt');
    const v = await agent.push(dest, 'x', { ownership: { user: 'no-such-user-rport' } });
    expect(v.status).to.equal('error');
    expect(v.message).to.contain('no-such-user-rport');
    expect(await lstat(dest).catch(() => undefined)).to.equal(undefined);
    expect(await tempFiles()).to.deep.equal([]);
  });

  describe('owner and group (as root)', function () {
    before(function () {
      if (!isRoot) {
        if (process.env.CI === 'true') throw new Error('owner tests need root under CI');
        console.warn('SKIPPED: owner/group tests need root (run the suite as root)');
        this.skip();
      }
    });

    it('user and group given: the placed file is owned by them (plain chown, no privileges needed)', async () => {
      const dest = join(out, 'nobody.txt');
      const v = await agent.push(dest, 'x', { ownership: { user: 'nobody', group: 'nogroup' } });
      expect(v.status).to.equal('success');
      const s = await stat(dest);
      expect([s.uid, s.gid]).to.deep.equal([65534, 65534]);
      expect((agent.privileged as NoPrivileges).calls).to.deep.equal([]);
    });

    it('a setuid bit survives the chown (allow_special_bits = true)', async () => {
      await agent.cleanup();
      agent = await makeAgent({ allowSpecialBits: true });
      out = join(agent.root, 'out');
      await mkdir(out);
      const dest = join(out, 'suid');
      const v = await agent.push(dest, '#!/bin/true', { mode: 0o4755, ownership: { user: 'nobody' } });
      expect(v.status).to.equal('success');
      const s = await stat(dest);
      expect(s.uid).to.equal(65534);
      expect(s.mode & 0o7777).to.equal(0o4755);
    });

    it('sync with the same md5 but another owner chowns the existing file', async () => {
      const dest = join(out, 'chown-me.txt');
      await writeFile(dest, 'same');
      await chmod(dest, 0o764);
      const v = await agent.push(dest, 'same', {
        sync: true,
        ownership: { user: 'nobody', group: 'nogroup' },
      });
      expect(v.status).to.equal('success');
      const s = await stat(dest);
      expect([s.uid, s.gid]).to.deep.equal([65534, 65534]);
    });
  });
});
