import { expect } from 'chai';
import { InMemoryLink } from '../../src/adapters/memory/in-memory-link.ts';
import { ProtectedPaths } from '../../src/domain/protected-paths.ts';
import { SUCCESS_MESSAGE } from '../../src/domain/fetch-and-place.ts';
import {
  DATA_DIR,
  HERO_UID,
  makeAgent,
  md5,
  RPORT_GID,
  RPORT_UID,
  SPEC_SUDO_RULES,
  STAFF_GID,
} from './support/agent-fixture.ts';

const DEST = '/srv/app/file.txt';

describe('ReceiveFile: writing and replacing', () => {
  it('the destination does not exist: the file is written with the default mode 0764', async () => {
    const a = makeAgent();
    const v = await a.push('hello world');
    expect(v).to.deep.equal({ status: 'success', message: SUCCESS_MESSAGE, changed: true });
    expect(a.files.readText(DEST)).to.equal('hello world');
    expect(a.files.lstat(DEST)).to.include({ type: 'file', mode: 0o764, uid: RPORT_UID, gid: RPORT_GID });
    expect(a.files.tempFiles()).to.deep.equal([]);
  });

  it('missing parent directories are created with the directory mode 0755, not the file mode', async () => {
    const a = makeAgent();
    const v = await a.push('x', { destination: '/srv/app/a/b/c.txt', mode: 0o600 });
    expect(v.status).to.equal('success');
    expect(a.files.lstat('/srv/app/a')?.mode).to.equal(0o755);
    expect(a.files.lstat('/srv/app/a/b')?.mode).to.equal(0o755);
    expect(a.files.lstat('/srv/app/a/b/c.txt')?.mode).to.equal(0o600);
  });

  it('the destination exists and neither force nor sync is set: ignored, the message names the path, the file is untouched', async () => {
    const a = makeAgent();
    a.files.writeFile(DEST, 'old', { uid: RPORT_UID, gid: RPORT_GID });
    const v = await a.push('new');
    expect(v.status).to.equal('ignored');
    expect(v.message).to.contain(DEST);
    expect(a.files.readText(DEST)).to.equal('old');
    expect(a.opened()).to.equal(0);
  });

  it('force: the file is replaced atomically; the old file is never deleted before the new one is in place', async () => {
    const a = makeAgent();
    a.files.writeFile(DEST, 'old content', { uid: RPORT_UID, gid: RPORT_GID });
    const seen: (string | undefined)[] = [];
    a.files.onChange((op, path) => {
      seen.push(a.files.readText(DEST));
      expect(op === 'remove' && path === DEST, 'destination removed').to.equal(false);
    });
    const v = await a.push('new content', { force: true });
    expect(v.status).to.equal('success');
    expect(a.files.readText(DEST)).to.equal('new content');
    expect(seen.length).to.be.greaterThan(3);
    expect(
      seen.every((s) => s === 'old content' || s === 'new content'),
      'destination was missing or partial at some point',
    ).to.equal(true);
    const firstNew = seen.indexOf('new content');
    expect(
      seen.slice(firstNew).every((s) => s === 'new content'),
      'old content came back',
    ).to.equal(true);
  });

  it('force on a file in a directory the agent may not write uses the sudo mv rule', async () => {
    const a = makeAgent();
    a.files.writeFile('/etc/app.conf', 'old', { mode: 0o644 });
    const v = await a.push('new', { destination: '/etc/app.conf', force: true });
    expect(v.status).to.equal('success');
    expect(a.files.readText('/etc/app.conf')).to.equal('new');
    expect(a.privileged.ran.some((c) => c.startsWith('/usr/bin/mv '))).to.equal(true);
  });

  it('placing where the agent may not write, without a sudo mv rule: error naming the rule, temp removed, destination untouched', async () => {
    const a = makeAgent({ sudoRules: [] });
    a.files.writeFile('/etc/app.conf', 'old');
    const v = await a.push('new', { destination: '/etc/app.conf', force: true });
    expect(v.status).to.equal('error');
    expect(v.message).to.contain('/usr/bin/mv').and.contain('sudoers');
    expect(a.files.readText('/etc/app.conf')).to.equal('old');
    expect(a.files.tempFiles()).to.deep.equal([]);
  });

  it('sync with a different md5: the file is replaced', async () => {
    const a = makeAgent();
    a.files.writeFile(DEST, 'old', { uid: RPORT_UID, gid: RPORT_GID, mode: 0o764 });
    const v = await a.push('new', { sync: true });
    expect(v.status).to.equal('success');
    expect(a.files.readText(DEST)).to.equal('new');
  });

  it('sync with the same md5 but a different mode: the mode is applied without fetching again', async () => {
    const a = makeAgent();
    a.files.writeFile(DEST, 'same', { uid: RPORT_UID, gid: RPORT_GID, mode: 0o644 });
    const v = await a.push('same', { sync: true, mode: 0o600 });
    expect(v.status).to.equal('success');
    expect(v.message).to.contain('mode and owner updated');
    expect(a.files.lstat(DEST)?.mode).to.equal(0o600);
    expect(a.opened()).to.equal(0);
  });

  it('sync with the same md5 but a different group: chown applied in place', async () => {
    const a = makeAgent();
    a.files.writeFile(DEST, 'same', { uid: RPORT_UID, gid: RPORT_GID, mode: 0o764 });
    const v = await a.push('same', { sync: true, ownership: { group: 'staff' } });
    expect(v.status).to.equal('success');
    expect(a.files.lstat(DEST)).to.include({ uid: RPORT_UID, gid: STAFF_GID });
    expect(a.opened()).to.equal(0);
  });

  it('sync with the same md5 but a different owner, agent running as root: chown applied in place', async () => {
    const a = makeAgent({ uid: 0, gid: 0 });
    a.files.writeFile(DEST, 'same', { mode: 0o764 });
    const v = await a.push('same', { sync: true, ownership: { user: 'hero', group: 'staff' } });
    expect(v.status).to.equal('success');
    expect(a.files.lstat(DEST)).to.include({ uid: HERO_UID, gid: STAFF_GID });
    expect(a.opened()).to.equal(0);
  });

  it('sync with the same md5 but a different owner, unprivileged agent: a fresh copy is chowned by sudo and placed (sudo never touches the existing file)', async () => {
    const a = makeAgent();
    a.files.writeFile(DEST, 'same', { uid: RPORT_UID, gid: RPORT_GID, mode: 0o764 });
    const v = await a.push('same', { sync: true, ownership: { user: 'hero' } });
    expect(v.status).to.equal('success');
    expect(a.files.lstat(DEST)).to.include({ uid: HERO_UID });
    expect(a.files.readText(DEST)).to.equal('same');
    expect(a.opened()).to.equal(1);
    expect(a.privileged.ran.every((c) => c.includes(`${DATA_DIR}/filepush/`))).to.equal(true);
  });

  it('sync where content, mode and owner all match: ignored, and the message says it is in sync', async () => {
    const a = makeAgent();
    a.files.writeFile(DEST, 'same', { uid: RPORT_UID, gid: RPORT_GID, mode: 0o640 });
    const v = await a.push('same', { sync: true, mode: 0o640, ownership: { user: 'rport', group: 'rport' } });
    expect(v.status).to.equal('ignored');
    expect(v.message).to.contain('in sync').and.contain(DEST);
  });

  it('sync without a mode keeps the existing mode of an identical file', async () => {
    const a = makeAgent();
    a.files.writeFile(DEST, 'same', { uid: RPORT_UID, gid: RPORT_GID, mode: 0o644 });
    const v = await a.push('same', { sync: true });
    expect(v.status).to.equal('ignored');
    expect(a.files.lstat(DEST)?.mode).to.equal(0o644);
  });

  it('sync on an existing file the agent may not read: it cannot be compared, so it is replaced through the temp file', async () => {
    const a = makeAgent();
    a.files.writeFile('/etc/app.conf', 'secret old', { mode: 0o600 });
    const v = await a.push('new', { destination: '/etc/app.conf', sync: true });
    expect(v.status).to.equal('success');
    expect(a.files.readText('/etc/app.conf')).to.equal('new');
  });

  it('sync when the destination does not exist: the file is written', async () => {
    const a = makeAgent();
    const v = await a.push('fresh', { sync: true });
    expect(v.status).to.equal('success');
    expect(a.files.readText(DEST)).to.equal('fresh');
  });

  it('backup setting on: the replaced file is kept as <dest>.<timestamp>.bak', async () => {
    const a = makeAgent({ settings: { backup: true } });
    a.files.writeFile(DEST, 'old', { uid: RPORT_UID, gid: RPORT_GID });
    const v = await a.push('new', { force: true });
    expect(v.status).to.equal('success');
    const baks = a.files.list('/srv/app').filter((p) => p.endsWith('.bak'));
    expect(baks).to.have.length(1);
    expect(a.files.readText(baks[0])).to.equal('old');
  });
});

describe('ReceiveFile: mode, owner and integrity', () => {
  it('the given mode is applied', async () => {
    const a = makeAgent();
    expect((await a.push('x', { mode: 0o640 })).status).to.equal('success');
    expect(a.files.lstat(DEST)?.mode).to.equal(0o640);
  });

  it('a setuid mode survives the chown that would clear it (sudo chmod rule given)', async () => {
    const a = makeAgent({
      sudoRules: [...SPEC_SUDO_RULES, `/usr/bin/chmod * ${DATA_DIR}/filepush/*_rport_filepush`],
      settings: { allowSpecialBits: true },
    });
    expect((await a.push('x', { mode: 0o4750, ownership: { user: 'hero' } })).status).to.equal('success');
    expect(a.files.lstat(DEST)).to.include({ mode: 0o4750, uid: HERO_UID });
  });

  it('a setuid mode with a sudo chown but no sudo chmod rule: error naming the chmod rule, nothing placed', async () => {
    const a = makeAgent({ settings: { allowSpecialBits: true } });
    const v = await a.push('x', { mode: 0o4750, ownership: { user: 'hero' } });
    expect(v.status).to.equal('error');
    expect(v.message).to.contain('/usr/bin/chmod');
    expect(a.files.lstat(DEST)).to.equal(undefined);
    expect(a.files.tempFiles()).to.deep.equal([]);
  });

  it('owner and group are given: applied through the privileged port on the temp file', async () => {
    const a = makeAgent();
    const v = await a.push('x', { ownership: { user: 'hero', group: 'staff' } });
    expect(v.status).to.equal('success');
    expect(a.files.lstat(DEST)).to.include({ uid: HERO_UID, gid: STAFF_GID });
    expect(a.privileged.ran[0]).to.match(
      new RegExp(`^/usr/bin/chown hero:staff ${DATA_DIR}/filepush/.*_rport_filepush$`),
    );
  });

  it('a group the agent belongs to is applied without sudo', async () => {
    const a = makeAgent({ sudoRules: [] });
    expect((await a.push('x', { ownership: { group: 'staff' } })).status).to.equal('success');
    expect(a.files.lstat(DEST)?.gid).to.equal(STAFF_GID);
    expect(a.privileged.ran).to.deep.equal([]);
  });

  it('chown fails (no sudo rule): the outcome is error, not success; it names the missing rule; temp removed, destination untouched', async () => {
    const a = makeAgent({ sudoRules: [] });
    const v = await a.push('x', { ownership: { user: 'hero' } });
    expect(v.status).to.equal('error');
    expect(v.message).to.contain('/usr/bin/chown').and.contain('sudoers');
    expect(a.files.lstat(DEST)).to.equal(undefined);
    expect(a.files.tempFiles()).to.deep.equal([]);
  });

  it('an unknown user: error naming the user, nothing placed', async () => {
    const a = makeAgent();
    const v = await a.push('x', { ownership: { user: 'nobody_here' } });
    expect(v.status).to.equal('error');
    expect(v.message).to.contain('nobody_here');
    expect(a.files.lstat(DEST)).to.equal(undefined);
    expect(a.files.tempFiles()).to.deep.equal([]);
  });

  it('an owner name that is not a plain account name: error naming the field', async () => {
    const a = makeAgent();
    const v = await a.push('x', { ownership: { user: '--reference=/etc/shadow' } });
    expect(v.status).to.equal('error');
    expect(v.message).to.contain('user');
  });

  it('file does not exist and the owner asked for is the agent itself: chown skipped, success without sudo', async () => {
    const a = makeAgent({ sudoRules: [] });
    const v = await a.push('x', { ownership: { user: 'rport', group: 'rport' } });
    expect(v.status).to.equal('success');
    expect(a.privileged.ran).to.deep.equal([]);
  });

  it('md5 mismatch: error, the temp file is removed and the destination is untouched', async () => {
    const a = makeAgent({ faults: { corrupt: true } });
    a.files.writeFile(DEST, 'old', { uid: RPORT_UID, gid: RPORT_GID });
    const v = await a.push('new content', { force: true });
    expect(v.status).to.equal('error');
    expect(v.message).to.contain('md5 checksum mismatch').and.contain(md5('new content'));
    expect(a.files.readText(DEST)).to.equal('old');
    expect(a.files.tempFiles()).to.deep.equal([]);
  });

  it('size mismatch with a matching md5 claim: error, destination untouched', async () => {
    const a = makeAgent();
    const v = await a.push('abc', { size: 4 });
    expect(v.status).to.equal('error');
    expect(a.files.lstat(DEST)).to.equal(undefined);
  });

  it('the transfer breaks mid-way: error, temp removed, destination untouched', async () => {
    const link = new InMemoryLink();
    const a = makeAgent({ link, faults: { disconnectAfterBytes: 4 } });
    a.files.writeFile(DEST, 'old', { uid: RPORT_UID, gid: RPORT_GID });
    const v = await a.push('0123456789', { force: true });
    expect(link.up).to.equal(false);
    expect(v.status).to.equal('error');
    expect(v.message).to.contain('fetching').and.contain('left untouched');
    expect(a.files.readText(DEST)).to.equal('old');
    expect(a.files.tempFiles()).to.deep.equal([]);
  });

  it('an unexpected failure while placing: error naming the destination, temp removed', async () => {
    const a = makeAgent();
    a.files.inject('place', 'EIO');
    const v = await a.push('x');
    expect(v.status).to.equal('error');
    expect(v.message).to.contain(`placing ${DEST} failed`).and.contain('EIO');
    expect(a.files.tempFiles()).to.deep.equal([]);
  });
});

describe('ReceiveFile: destination rules on the agent', () => {
  for (const [title, dest] of [
    ['a relative dest', 'srv/app/file.txt'],
    ['an empty dest', ''],
    ['a dest ending in /', '/srv/app/'],
    ['a dest with NUL', '/srv/app/fi\0le.txt'],
  ] as const) {
    it(`${title} is rejected with an error and nothing is fetched`, async () => {
      const a = makeAgent();
      const v = await a.push('x', { destination: dest });
      expect(v.status).to.equal('error');
      expect(v.message).to.contain('dest');
      expect(a.opened()).to.equal(0);
    });
  }

  for (const dest of [
    '/bin',
    '/bin/evil',
    '/usr/bin/deep/deeper/evil',
    '/etc/../bin/evil',
    '//bin//evil',
    '/lib64/evil.so',
    '/lib/x',
    '/run/user/1/x',
    '/srv/../dev/null2',
  ]) {
    it(`a protected destination is refused: ${dest}`, async () => {
      const a = makeAgent();
      const v = await a.push('x', { destination: dest, force: true });
      expect(v.status).to.equal('error');
      expect(v.message).to.contain('protected path').and.contain('[file-reception] protected');
      expect(a.opened()).to.equal(0);
    });
  }

  it('a path beside a protected one is allowed: /etc/bin/yourfile.txt', async () => {
    const a = makeAgent({ uid: 0, gid: 0 });
    expect((await a.push('x', { destination: '/etc/bin/yourfile.txt' })).status).to.equal('success');
  });

  it('a destination whose parent is a symlink into a protected directory is refused', async () => {
    const a = makeAgent({ uid: 0, gid: 0 });
    a.files.symlink('/srv/app/tools', '/usr/bin');
    const v = await a.push('x', { destination: '/srv/app/tools/evil' });
    expect(v.status).to.equal('error');
    expect(v.message).to.contain('symlink').and.contain('/usr/bin/evil');
    expect(a.files.lstat('/usr/bin/evil')).to.equal(undefined);
  });

  /** Swaps the missing parent /srv/app/tools for a link to target while the file is being fetched. */
  function swapParentDuringFetch(a: ReturnType<typeof makeAgent>, target: string): void {
    const stop = a.files.onChange((op) => {
      if (op !== 'writeTemp') return;
      stop();
      a.files.symlink('/srv/app/tools', target);
    });
  }

  it('a parent swapped during the fetch for a link into a protected directory: refused before the move', async () => {
    const a = makeAgent({ uid: 0, gid: 0 });
    swapParentDuringFetch(a, '/usr/bin');
    const v = await a.push('x', { destination: '/srv/app/tools/evil' });
    expect(v.status).to.equal('error');
    expect(v.message).to.contain('symlink').and.contain('/usr/bin/evil').and.contain('protected');
    expect(a.files.lstat('/usr/bin/evil')).to.equal(undefined);
    expect(a.files.tempFiles()).to.deep.equal([]);
  });

  it('a parent swapped during the fetch for a link elsewhere: error naming the change, nothing placed', async () => {
    const a = makeAgent({ uid: 0, gid: 0 });
    a.files.mkdirp('/srv/other', { mode: 0o755 });
    swapParentDuringFetch(a, '/srv/other');
    const v = await a.push('x', { destination: '/srv/app/tools/file' });
    expect(v.status).to.equal('error');
    expect(v.message)
      .to.contain('now leads to /srv/other/file')
      .and.contain('a parent changed during the push');
    expect(a.files.lstat('/srv/other/file')).to.equal(undefined);
    expect(a.files.tempFiles()).to.deep.equal([]);
  });

  it('a destination that is itself a symlink is refused: rport never writes through a link', async () => {
    const a = makeAgent();
    a.files.writeFile('/srv/app/real.txt', 'keep', { uid: RPORT_UID, gid: RPORT_GID });
    a.files.symlink(DEST, '/srv/app/real.txt');
    const v = await a.push('x', { force: true });
    expect(v.status).to.equal('error');
    expect(v.message).to.contain('symbolic link');
    expect(a.files.readText('/srv/app/real.txt')).to.equal('keep');
  });

  it('a destination that is a directory is refused', async () => {
    const a = makeAgent();
    a.files.mkdirp(DEST);
    const v = await a.push('x', { force: true });
    expect(v.status).to.equal('error');
    expect(v.message).to.contain('directory');
  });

  it('a custom protected list from [file-reception] protected is honoured', async () => {
    const a = makeAgent({ settings: { protectedPaths: new ProtectedPaths(['/srv/app/secret*'], 'posix') } });
    expect((await a.push('x', { destination: '/srv/app/secrets/a' })).status).to.equal('error');
    expect((await a.push('x', { destination: '/srv/app/public/a' })).status).to.equal('success');
  });

  it('file reception disabled on the client: error, and the message names the setting', async () => {
    const a = makeAgent({ settings: { enabled: false } });
    const v = await a.push('x');
    expect(v.status).to.equal('error');
    expect(v.message).to.contain('[file-reception] enabled = false');
    expect(a.files.lstat(DEST)).to.equal(undefined);
  });
});

describe('ReceiveFile: concurrency', () => {
  it('two pushes to the same destination are serialized: the second fetch starts after the first file is placed', async () => {
    const a = makeAgent({ faults: { delayPerChunkMs: 10 } });
    const events: string[] = [];
    a.files.onChange((op, path) => {
      if (op === 'writeTemp' || op === 'place') events.push(`${op}:${path.endsWith(DEST) ? 'dest' : path}`);
    });
    const r1 = a.request('first version', { force: true });
    const r2 = a.request('second version', { force: true });
    const both = Promise.all([a.receive.execute(r1), a.receive.execute(r2)]);
    const [v1, v2] = await a.clock.run(both);
    expect([v1.status, v2.status]).to.deep.equal(['success', 'success']);
    expect(events).to.deep.equal([
      `writeTemp:${DATA_DIR}/filepush/${r1.sourceName}`,
      'place:dest',
      `writeTemp:${DATA_DIR}/filepush/${r2.sourceName}`,
      'place:dest',
    ]);
    expect(a.files.readText(DEST)).to.equal('second version');
  });

  it('pushes to different destinations run at the same time', async () => {
    const a = makeAgent({ faults: { delayPerChunkMs: 10 } });
    const events: string[] = [];
    a.files.onChange((op) => {
      if (op === 'writeTemp' || op === 'place') events.push(op);
    });
    const both = Promise.all([
      a.push('first version', { destination: '/srv/app/a' }),
      a.push('second version', { destination: '/srv/app/b' }),
    ]);
    await a.clock.run(both);
    expect(events).to.deep.equal(['writeTemp', 'writeTemp', 'place', 'place']);
  });
});
