import { expect } from 'chai';
import {
  InMemoryClientChannel,
  InMemoryClientChannels,
} from '../../../src/adapters/memory/in-memory-client-channels.ts';
import { InMemoryClientRegistry } from '../../../src/adapters/memory/in-memory-client-registry.ts';
import { InMemoryLink } from '../../../src/adapters/memory/in-memory-link.ts';
import { InMemoryStagingStore } from '../../../src/adapters/memory/in-memory-staging-store.ts';
import { ManualClock } from '../../../src/adapters/memory/manual-clock.ts';
import { MemoryLocalFiles } from '../../../src/adapters/memory/memory-local-files.ts';
import { MemoryPrivilegedFiles } from '../../../src/adapters/memory/memory-privileged-files.ts';
import { SequentialIdGenerator } from '../../../src/adapters/memory/sequential-id-generator.ts';
import { SystemClock } from '../../../src/adapters/system/system-clock.ts';
import { UploadTooLargeError } from '../../../src/ports/staging-store.ts';
import { success } from '../../../src/domain/outcome.ts';
import type { PushRequest } from '../../../src/domain/push-request.ts';
import { chunks, client } from '../../domain/support/server-fixture.ts';

const codeOf = async (p: Promise<unknown>): Promise<string | undefined> =>
  p.then(
    () => undefined,
    (e: { code?: string }) => e.code,
  );

const host = () =>
  new MemoryLocalFiles({
    dataDir: '/var/lib/rport',
    uid: 1001,
    gid: 1001,
    accounts: { users: { root: 0, hero: 1002 }, groups: { root: 0 } },
  });

async function temp(files: MemoryLocalFiles, name = 'u_rport_filepush', text = 'abc'): Promise<string> {
  return (await files.writeTemp(name, chunks(text))).path;
}

describe('MemoryLocalFiles behaves like a POSIX host seen by an unprivileged user', () => {
  it('placing into a directory the user may not write fails with EACCES and keeps the temp file', async () => {
    const f = host();
    f.mkdirp('/etc');
    const t = await temp(f);
    expect(await codeOf(f.place(t, '/etc/x', 0o755))).to.equal('EACCES');
    expect(f.tempFiles()).to.deep.equal([t]);
  });

  it('creating a missing parent under a root-owned directory fails with EACCES', async () => {
    const f = host();
    const t = await temp(f);
    expect(await codeOf(f.place(t, '/opt/app/x', 0o755))).to.equal('EACCES');
  });

  it("in a sticky directory another user's file cannot be replaced", async () => {
    const f = host();
    f.mkdirp('/tmp', { mode: 0o1777 });
    f.writeFile('/tmp/theirs', 'x', { uid: 1002 });
    const t = await temp(f);
    expect(await codeOf(f.place(t, '/tmp/theirs', 0o755))).to.equal('EPERM');
    expect(await codeOf(f.remove('/tmp/theirs'))).to.equal('EPERM');
  });

  it("chown to another user and chmod of another user's file fail with EPERM", async () => {
    const f = host();
    const t = await temp(f);
    expect(await codeOf(f.chown(t, { uid: 1002 }))).to.equal('EPERM');
    f.writeFile('/srv/x', 'x');
    expect(await codeOf(f.chmod('/srv/x', 0o777))).to.equal('EPERM');
  });

  it('reading a file without read permission fails with EACCES', async () => {
    const f = host();
    f.writeFile('/srv/secret', 'x', { mode: 0o600 });
    expect(await codeOf(f.md5('/srv/secret'))).to.equal('EACCES');
    expect(await codeOf(f.backup('/srv/secret', 's'))).to.equal('EACCES');
  });

  it('symlinks of parents are resolved, a final symlink is not followed by status', async () => {
    const f = host();
    f.mkdirp('/data/real');
    f.symlink('/srv/link', '../data/real');
    f.symlink('/srv/file', '/data/real/f');
    expect(await f.resolveParents('/srv/link/x')).to.equal('/data/real/x');
    expect((await f.status('/srv/file'))?.type).to.equal('symlink');
  });

  it('a symlink loop fails with ELOOP', async () => {
    const f = host();
    f.symlink('/a', '/b');
    f.symlink('/b', '/a');
    expect(await codeOf(f.resolveParents('/a/x'))).to.equal('ELOOP');
  });

  it('a file used as a directory fails with ENOTDIR', async () => {
    const f = host();
    f.writeFile('/srv/file', 'x');
    expect(await codeOf(f.status('/srv/file/x'))).to.equal('ENOTDIR');
  });

  it('an injected fault fails the next call only', async () => {
    const f = host();
    f.inject('md5', 'EIO');
    f.writeFile('/srv/x', 'x', { uid: 1001 });
    expect(await codeOf(f.md5('/srv/x'))).to.equal('EIO');
    expect(await f.md5('/srv/x')).to.equal('9dd4e461268c8034f5c8564e155c67a6');
  });

  it('a temp file name with a slash is refused', async () => {
    expect(await codeOf(host().writeTemp('../x', chunks('a')))).to.equal('EINVAL');
  });
});

describe('MemoryPrivilegedFiles behaves like sudo -n with the configured rules', () => {
  it('without a matching rule: EPERM, and the message names the missing sudoers rule', async () => {
    const f = host();
    const t = await temp(f);
    const p = new MemoryPrivilegedFiles(f, []);
    const err = await p.chown(t, { user: 'hero' }).catch((e: Error & { code: string }) => e);
    expect(err).to.include({ code: 'EPERM' });
    expect((err as Error).message).to.contain(
      'rport ALL=NOPASSWD: /usr/bin/chown * /var/lib/rport/filepush/*_rport_filepush',
    );
    expect(await codeOf(p.move(t, '/etc/x'))).to.equal('EPERM');
    expect(await codeOf(p.chmod(t, 0o644))).to.equal('EPERM');
  });

  it("with the spec's rules: chown and mv of a staged temp file run as root", async () => {
    const f = host();
    f.mkdirp('/etc');
    const t = await temp(f);
    const p = new MemoryPrivilegedFiles(f, [
      '/usr/bin/chown * /var/lib/rport/filepush/*_rport_filepush',
      '/usr/bin/mv /var/lib/rport/filepush/*_rport_filepush *',
    ]);
    await p.chown(t, { user: 'hero' });
    await p.move(t, '/etc/new/x');
    expect(f.lstat('/etc/new/x')).to.include({ uid: 1002 });
    expect(f.lstat('/etc/new')).to.include({ mode: 0o755 });
  });

  it('a rule for the filepush dir does not allow chown of another file', async () => {
    const f = host();
    f.writeFile('/etc/shadow', 'x');
    const p = new MemoryPrivilegedFiles(f, ['/usr/bin/chown * /var/lib/rport/filepush/*_rport_filepush']);
    expect(await codeOf(p.chown('/etc/shadow', { user: 'hero' }))).to.equal('EPERM');
  });
});

describe('other in-memory fakes', () => {
  it('the staging store removes a partial upload once it passes maxBytes', async () => {
    const s = new InMemoryStagingStore();
    const err = await s.stage('u', chunks('abc', 'def'), 4).catch((e: unknown) => e);
    expect(err).to.be.instanceOf(UploadTooLargeError);
    expect(s.names()).to.deep.equal([]);
    await s.stage('v', chunks('ab'), 4);
    expect(s.read('v_rport_filepush')).to.deep.equal(new TextEncoder().encode('ab'));
    expect(await s.sweep()).to.equal(1);
  });

  it('the manual clock fires timers in order and reports work that would hang forever', async () => {
    const clock = new ManualClock();
    const order: number[] = [];
    void clock.sleep(20).then(() => order.push(20));
    void clock.sleep(10).then(() => order.push(10));
    await clock.advance(25);
    expect(order).to.deep.equal([10, 20]);
    const err = await clock.run(new Promise(() => undefined)).catch((e: Error) => e.message);
    expect(err).to.contain('hang');
  });

  it('an aborted sleep rejects and leaves no timer', async () => {
    const clock = new ManualClock();
    const ac = new AbortController();
    const p = clock.sleep(1000, ac.signal);
    ac.abort(new Error('stop'));
    expect(await p.catch((e: Error) => e.message)).to.equal('stop');
    expect(clock.pendingTimers).to.equal(0);
    const real = new SystemClock();
    const ac2 = new AbortController();
    const q = real.sleep(60_000, ac2.signal);
    ac2.abort(new Error('stop too'));
    expect(await q.catch((e: Error) => e.message)).to.equal('stop too');
  });

  it('seeded ids repeat for the same seed and differ for another', () => {
    const a = new SequentialIdGenerator(1);
    const b = new SequentialIdGenerator(1);
    expect([a.newId(), a.newId()]).to.deep.equal([b.newId(), b.newId()]);
    expect(new SequentialIdGenerator(2).newId()).not.to.equal(new SequentialIdGenerator(1).newId());
  });

  it('the registry marks a client disconnected and keeps it known', async () => {
    const r = new InMemoryClientRegistry();
    const { connected: _c, ...info } = client('c1');
    await r.announce(info);
    await r.disconnected('c1');
    expect(await r.get('c1')).to.include({ connected: false });
  });

  it('a channel whose link drops rejects the push and disappears from the connected channels', async () => {
    const link = new InMemoryLink();
    const channels = new InMemoryClientChannels();
    const channel = new InMemoryClientChannel({ execute: () => new Promise(() => undefined) }, link);
    channels.connect('c1', channel);
    const push = channel.push({} as PushRequest, new AbortController().signal);
    link.disconnect('cable cut');
    expect(await push.catch((e: Error) => e.message)).to.contain('cable cut');
    expect(channels.channelFor('c1')).to.equal(undefined);
  });

  it('a silent channel answers only to an abort', async () => {
    const channel = new InMemoryClientChannel({ execute: async () => success('x') }, undefined, {
      faults: { silent: true },
    });
    const ac = new AbortController();
    const push = channel.push({} as PushRequest, ac.signal);
    ac.abort(new Error('timed out'));
    expect(await push.catch((e: Error) => e.message)).to.equal('timed out');
  });
});
