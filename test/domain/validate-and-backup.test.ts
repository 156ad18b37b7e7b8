import { expect } from 'chai';
import { SUCCESS_MESSAGE } from '../../src/domain/fetch-and-place.ts';
import { pushRequestOf, type AcceptedUpload } from '../../src/domain/accepted-upload.ts';
import { backupsToRemove, backupStamp, freeBackupStamp } from '../../src/domain/backup-names.ts';
import { DATA_DIR, makeAgent, RPORT_GID, RPORT_UID, STAFF_GID } from './support/agent-fixture.ts';

const DEST = '/srv/app/file.txt';
const NGINX = { validators: { nginx: ['/usr/sbin/nginx', '-t', '-c', '%s'] }, timeoutMs: 30_000 };

describe('ReceiveFile: validators named on the agent', () => {
  it('a push naming a validator runs its argv on the verified temp file, then places the file', async () => {
    const a = makeAgent({ settings: { validators: NGINX } });
    const v = await a.push('server {}', { validate: 'nginx' });
    expect(v).to.deep.equal({ status: 'success', message: SUCCESS_MESSAGE, changed: true });
    expect(a.validators.runs).to.have.length(1);
    const [run] = a.validators.runs;
    expect(run.argv.slice(0, 3)).to.deep.equal(['/usr/sbin/nginx', '-t', '-c']);
    expect(run.argv[3]).to.match(new RegExp(`^${DATA_DIR}/filepush/.+_rport_filepush$`));
    expect(run.timeoutMs).to.equal(30_000);
    expect(a.files.readText(DEST)).to.equal('server {}');
  });

  it('the validator sees the pushed bytes, and a non-zero exit is an error quoting its stderr; nothing placed', async () => {
    let seen: string | undefined;
    const a = makeAgent({
      settings: { validators: NGINX },
      validator: (argv) => {
        seen = a.files.readText(argv[3]);
        return seen?.includes('ok')
          ? { exitCode: 0 }
          : {
              exitCode: 1,
              stderr: 'nginx: [emerg] unknown directive "bad"\nline 2\nline 3\nline 4\nline 5\nline 6\n',
            };
      },
    });
    a.files.writeFile(DEST, 'old', { uid: RPORT_UID, gid: RPORT_GID });
    const v = await a.push('bad', { validate: 'nginx', force: true });
    expect(seen).to.equal('bad');
    expect(v.status).to.equal('error');
    expect(v.message).to.contain('validator "nginx" ([file-reception.validators] nginx) refused the file');
    expect(v.message).to.contain('exited with code 1: nginx: [emerg] unknown directive "bad" | line 2');
    expect(v.message).to.contain('line 5 | …');
    expect(v.message).not.to.contain('line 6');
    expect(v.message).to.contain(`${DEST} left untouched`);
    expect(a.files.readText(DEST)).to.equal('old');
    expect(a.files.tempFiles()).to.deep.equal([]);
    expect((await a.push('ok', { validate: 'nginx', force: true })).status).to.equal('success');
    expect(a.files.readText(DEST)).to.equal('ok');
  });

  it('a validator that writes only to stdout is quoted from stdout', async () => {
    const a = makeAgent({
      settings: { validators: NGINX },
      validator: () => ({ exitCode: 2, stdout: 'syntax error at line 7\n' }),
    });
    const v = await a.push('x', { validate: 'nginx' });
    expect(v.message).to.contain('exited with code 2: syntax error at line 7');
  });

  it('a validator killed at its time limit: error naming validate_timeout, nothing placed', async () => {
    const a = makeAgent({
      settings: { validators: { ...NGINX, timeoutMs: 5000 } },
      validator: () => ({ timedOut: true }),
    });
    const v = await a.push('x', { validate: 'nginx' });
    expect(v.status).to.equal('error');
    expect(v.message).to.contain(
      'did not finish within 5 s ([file-reception] validate_timeout) and was killed',
    );
    expect(a.files.read(DEST)).to.equal(undefined);
    expect(a.files.tempFiles()).to.deep.equal([]);
  });

  it('a validator that cannot be started: error naming it, nothing placed', async () => {
    const a = makeAgent({
      settings: { validators: NGINX },
      validator: () => Object.assign(new Error('cannot run /usr/sbin/nginx: ENOENT'), { code: 'ENOENT' }),
    });
    const v = await a.push('x', { validate: 'nginx' });
    expect(v.status).to.equal('error');
    expect(v.message).to.contain('could not be run: cannot run /usr/sbin/nginx: ENOENT');
    expect(a.files.read(DEST)).to.equal(undefined);
  });

  it('an unknown name: error naming [file-reception.validators] and the names there; nothing fetched or run', async () => {
    const a = makeAgent({ settings: { validators: NGINX } });
    const v = await a.push('x', { validate: 'sshd' });
    expect(v.status).to.equal('error');
    expect(v.message).to.equal(
      `validator "sshd" is not named in [file-reception.validators] of this client's rport.conf (it names nginx); ${DEST} left untouched`,
    );
    expect(a.opened()).to.equal(0);
    expect(a.validators.runs).to.deep.equal([]);
  });

  it('a name of another shape (a command line) is refused by the agent too, never run', async () => {
    const a = makeAgent({ settings: { validators: NGINX } });
    const v = await a.push('x', { validate: '/bin/sh -c reboot' });
    expect(v.status).to.equal('error');
    expect(v.message).to.contain('validate: validator name "/bin/sh -c reboot" must be 1-64 letters');
    expect(a.validators.runs).to.deep.equal([]);
  });

  it('a push without validate runs no validator; sync with the same bytes runs none either', async () => {
    const a = makeAgent({ settings: { validators: NGINX } });
    expect((await a.push('x')).status).to.equal('success');
    a.files.writeFile(DEST, 'same', { uid: RPORT_UID, gid: RPORT_GID, mode: 0o764 });
    expect((await a.push('same', { sync: true, validate: 'nginx' })).status).to.equal('ignored');
    expect(a.validators.runs).to.deep.equal([]);
  });
});

describe('ReceiveFile: backup per push, with retention', () => {
  const old = (a: ReturnType<typeof makeAgent>) => a.files.list('/srv/app').filter((p) => p.endsWith('.bak'));

  it('backup=true keeps the replaced file as <dest>.<YYYYMMDDTHHMMSSZ>.bak with its mode and owner; the outcome names it', async () => {
    const a = makeAgent();
    a.files.writeFile(DEST, 'v1', { uid: RPORT_UID, gid: STAFF_GID, mode: 0o640 });
    const v = await a.push('v2', { force: true, backup: true });
    const kept = `${DEST}.20240101T000000Z.bak`;
    expect(v).to.deep.equal({
      status: 'success',
      message: `${SUCCESS_MESSAGE}; the replaced file is kept as ${kept}`,
      changed: true,
      backup: kept,
    });
    expect(a.files.readText(kept)).to.equal('v1');
    expect(a.files.lstat(kept)).to.include({ type: 'file', mode: 0o640, uid: RPORT_UID, gid: STAFF_GID });
    expect(a.files.readText(DEST)).to.equal('v2');
  });

  it('the push overrides the agent default both ways; a new file has nothing to keep', async () => {
    const off = makeAgent({ settings: { backup: true } });
    off.files.writeFile(DEST, 'v1', { uid: RPORT_UID, gid: RPORT_GID });
    expect((await off.push('v2', { force: true, backup: false })).backup).to.equal(undefined);
    expect(old(off)).to.deep.equal([]);
    expect((await off.push('v3', { force: true })).backup).to.be.a('string');
    const fresh = makeAgent();
    expect((await fresh.push('new', { backup: true })).backup).to.equal(undefined);
    expect(old(fresh)).to.deep.equal([]);
  });

  it('two backups in one second get distinct names that sort in the order they were made', async () => {
    const a = makeAgent();
    a.files.writeFile(DEST, 'v1', { uid: RPORT_UID, gid: RPORT_GID });
    for (const v of ['v2', 'v3', 'v4']) await a.push(v, { force: true, backup: true });
    expect(old(a)).to.deep.equal([
      `${DEST}.20240101T000000Z.bak`,
      `${DEST}.20240101T000000Z01.bak`,
      `${DEST}.20240101T000000Z02.bak`,
    ]);
    expect(old(a).map((p) => a.files.readText(p))).to.deep.equal(['v1', 'v2', 'v3']);
  });

  it('backup_keep 3: after 5 replacing pushes the 3 newest backups remain, and nothing else is touched', async () => {
    const a = makeAgent({ settings: { backupKeep: 3 } });
    a.files.writeFile(DEST, 'v0', { uid: RPORT_UID, gid: RPORT_GID });
    a.files.writeFile('/srv/app/file.txt.20000101T000000Z.bak.keep', 'not ours', { uid: RPORT_UID });
    a.files.writeFile('/srv/app/other.txt.20000101T000000Z.bak', 'another file', { uid: RPORT_UID });
    a.files.symlink('/srv/app/file.txt.19990101T000000Z.bak', '/etc/passwd');
    const messages: string[] = [];
    for (let i = 1; i <= 5; i++) {
      await a.clock.advance(1000);
      messages.push((await a.push(`v${i}`, { force: true, backup: true })).message);
    }
    const mine = old(a).filter((p) => p.startsWith(`${DEST}.2024`));
    expect(mine).to.deep.equal([
      `${DEST}.20240101T000003Z.bak`,
      `${DEST}.20240101T000004Z.bak`,
      `${DEST}.20240101T000005Z.bak`,
    ]);
    expect(mine.map((p) => a.files.readText(p))).to.deep.equal(['v2', 'v3', 'v4']);
    expect(messages[4]).to.contain('; 1 older backup removed (backup_keep 3)');
    expect(a.files.readText('/srv/app/file.txt.20000101T000000Z.bak.keep')).to.equal('not ours');
    expect(a.files.readText('/srv/app/other.txt.20000101T000000Z.bak')).to.equal('another file');
    expect(a.files.lstat('/srv/app/file.txt.19990101T000000Z.bak')?.type).to.equal('symlink');
  });

  it('a regular file named for a later date never pushes out the backup this push made', async () => {
    const a = makeAgent({ settings: { backupKeep: 1 } });
    a.files.writeFile(DEST, 'v1', { uid: RPORT_UID, gid: RPORT_GID });
    a.files.writeFile(`${DEST}.29991231T235959Z.bak`, 'planted', { uid: RPORT_UID });
    const v = await a.push('v2', { force: true, backup: true });
    expect(a.files.readText(v.backup!)).to.equal('v1');
  });

  it('the name taken by a link: the next free name is used, and the link is neither followed nor removed', async () => {
    const a = makeAgent();
    a.files.writeFile(DEST, 'v1', { uid: RPORT_UID, gid: RPORT_GID });
    a.files.writeFile('/srv/app/target', 'precious', { uid: RPORT_UID });
    a.files.symlink(`${DEST}.20240101T000000Z.bak`, '/srv/app/target');
    const v = await a.push('v2', { force: true, backup: true });
    expect(v.backup).to.equal(`${DEST}.20240101T000000Z01.bak`);
    expect(a.files.readText('/srv/app/target')).to.equal('precious');
    expect(a.files.lstat(`${DEST}.20240101T000000Z.bak`)?.type).to.equal('symlink');
  });

  it('a validator refusal keeps no backup; a failed backup places nothing', async () => {
    const a = makeAgent({
      settings: { validators: NGINX },
      validator: () => ({ exitCode: 1, stderr: 'bad' }),
    });
    a.files.writeFile(DEST, 'v1', { uid: RPORT_UID, gid: RPORT_GID });
    expect((await a.push('v2', { force: true, backup: true, validate: 'nginx' })).status).to.equal('error');
    expect(old(a)).to.deep.equal([]);
    const b = makeAgent();
    b.files.writeFile(DEST, 'v1', { uid: RPORT_UID, gid: RPORT_GID });
    b.files.inject('backup', 'ENOSPC');
    const v = await b.push('v2', { force: true, backup: true });
    expect(v.status).to.equal('error');
    expect(b.files.readText(DEST)).to.equal('v1');
    expect(b.files.tempFiles()).to.deep.equal([]);
  });

  it('retention that fails is told in the message; the push stays a success', async () => {
    const a = makeAgent();
    a.files.writeFile(DEST, 'v1', { uid: RPORT_UID, gid: RPORT_GID });
    a.files.inject('removeBeside', 'EIO');
    for (let i = 0; i < 3; i++) await a.push(`v${i + 2}`, { force: true, backup: true });
    const v = await a.push('v9', { force: true, backup: true });
    expect(v.status).to.equal('success');
    expect(v.message).to.contain('removing older backups in /srv/app/ failed');
  });
});

describe('backup names', () => {
  it('a second whose first name retention freed continues after its last name, never before', () => {
    const taken = new Set(['f.20240101T000000Z01.bak', 'f.20240101T000000Z02.bak']);
    expect(freeBackupStamp('f', '20240101T000000Z', taken)).to.equal('20240101T000000Z03');
    expect(freeBackupStamp('f', '20240101T000000Z', new Set())).to.equal('20240101T000000Z');
    const full = new Set(
      Array.from({ length: 100 }, (_, n) => `f.20240101T000000Z${n ? String(n).padStart(2, '0') : ''}.bak`),
    );
    expect(freeBackupStamp('f', '20240101T000000Z', full)).to.equal(undefined);
  });

  it('only names of exactly the backup form count, and the backup just made is never removed', () => {
    expect(backupStamp(new Date('2026-12-04T19:30:00.999Z'))).to.equal('20261204T193000Z');
    const entries = [
      'a.conf.20240101T000000Z.bak',
      'a.conf.20240101T000001Z.bak',
      'a.conf.20240101T000002Z.bak',
      'a.conf.20240101T000002Z.bak.orig',
      'xa.conf.20240101T000000Z.bak',
      'a.conf.2024-01-01.bak',
      'a.confX20240101T000000Z.bak',
    ].map((name) => ({ name, type: 'file' }));
    expect(backupsToRemove('a.conf', entries, 2, 'a.conf.20240101T000002Z.bak')).to.deep.equal([
      'a.conf.20240101T000000Z.bak',
    ]);
    expect(backupsToRemove('a.conf', entries, 1, 'a.conf.20240101T000000Z.bak')).to.deep.equal([
      'a.conf.20240101T000002Z.bak',
      'a.conf.20240101T000001Z.bak',
    ]);
  });
});

describe('the push request the server sends', () => {
  const upload: AcceptedUpload = {
    staged: { uuid: 'u1', size: 1, md5: 'm', sha256: 's' } as AcceptedUpload['staged'],
    filename: 'f',
    destination: '/srv/f',
    force: false,
    sync: false,
    ownership: {},
    targets: ['c1'],
    requestedBy: 'admin',
  };

  it('carries validate and backup only when the upload gave them: without, the request is as before', () => {
    expect(pushRequestOf(upload)).not.to.have.any.keys('validate', 'backup');
    expect(pushRequestOf({ ...upload, validate: 'nginx', backup: false })).to.include({
      validate: 'nginx',
      backup: false,
    });
  });
});
