import { expect } from 'chai';
import { DIFF_DISABLED, MAX_DIFF_BYTES } from '../../src/domain/content-diff.ts';
import { SUCCESS_MESSAGE } from '../../src/domain/fetch-and-place.ts';
import { DATA_DIR, HERO_UID, makeAgent, RPORT_GID, RPORT_UID } from './support/agent-fixture.ts';

const DEST = '/srv/app/file.txt';
const OWNED = { uid: RPORT_UID, gid: RPORT_GID, mode: 0o644 };

/** Records every change the agent makes outside its own temp folder. */
function watchHost(a: ReturnType<typeof makeAgent>): string[] {
  const seen: string[] = [];
  a.files.onChange((op, path) => {
    if (!path.startsWith(`${DATA_DIR}/filepush/`)) seen.push(`${op} ${path}`);
  });
  return seen;
}

describe('ReceiveFile, check mode: says what the push would do and changes nothing', () => {
  it('create: fetched and verified, "would create" with mode and owner; nothing placed, no temp file left', async () => {
    const a = makeAgent();
    const host = watchHost(a);
    const v = await a.push('hello', { check: true, mode: 0o640 });
    expect(v.status).to.equal('success');
    expect(v.changed).to.equal(true);
    expect(v.message).to.equal(
      `check: would create ${DEST} (5 bytes, mode 0640, owner ${RPORT_UID}:${RPORT_GID})`,
    );
    expect(a.opened()).to.equal(1);
    expect(a.files.readText(DEST)).to.equal(undefined);
    expect(a.files.tempFiles()).to.deep.equal([]);
    expect(host).to.deep.equal([]);
  });

  it('replace: the old file stays as it was, bytes and mode; the message names the mode change', async () => {
    const a = makeAgent();
    a.files.writeFile(DEST, 'old', OWNED);
    const host = watchHost(a);
    const v = await a.push('new', { check: true, force: true, mode: 0o600 });
    expect(v).to.include({ status: 'success', changed: true });
    expect(v.message).to.equal(`check: would replace ${DEST}: the content differs; mode 0644 -> 0600`);
    expect(a.files.readText(DEST)).to.equal('old');
    expect(a.files.lstat(DEST)?.mode).to.equal(0o644);
    expect(a.files.tempFiles()).to.deep.equal([]);
    expect(host).to.deep.equal([]);
  });

  it('the file exists and neither force nor sync: ignored, as the real push, and nothing is fetched', async () => {
    const a = makeAgent();
    a.files.writeFile(DEST, 'old', OWNED);
    const v = await a.push('new', { check: true });
    expect(v.status).to.equal('ignored');
    expect(v.message).to.match(/^check: file \/srv\/app\/file.txt already exists/);
    expect(a.opened()).to.equal(0);
  });

  it('sync, same bytes, same mode and owner: unchanged (ignored, changed false)', async () => {
    const a = makeAgent();
    a.files.writeFile(DEST, 'same', OWNED);
    const v = await a.push('same', { check: true, sync: true, mode: 0o644 });
    expect(v).to.include({ status: 'ignored', changed: false });
    expect(v.message).to.equal(`check: file ${DEST} is already in sync: same md5, mode and owner`);
  });

  it('sync, same bytes, another mode: "would change mode" in place; the mode stays as it is', async () => {
    const a = makeAgent();
    a.files.writeFile(DEST, 'same', OWNED);
    const host = watchHost(a);
    const v = await a.push('same', { check: true, sync: true, mode: 0o600 });
    expect(v).to.include({ status: 'success', changed: true });
    expect(v.message).to.equal(`check: would change mode 0644 -> 0600 of ${DEST} in place (same content)`);
    expect(a.files.lstat(DEST)?.mode).to.equal(0o644);
    expect(a.opened()).to.equal(0);
    expect(host).to.deep.equal([]);
  });

  it('force, same bytes, another owner: "would change owner"; no chown, no sudo', async () => {
    const a = makeAgent();
    a.files.writeFile(DEST, 'same', OWNED);
    const v = await a.push('same', { check: true, force: true, mode: 0o644, ownership: { user: 'hero' } });
    expect(v).to.include({ status: 'success', changed: true });
    expect(v.message).to.equal(
      `check: would change owner ${RPORT_UID}:${RPORT_GID} -> ${HERO_UID}:${RPORT_GID} of ${DEST} (same content)`,
    );
    expect(a.files.lstat(DEST)?.uid).to.equal(RPORT_UID);
    expect(a.privileged.ran).to.deep.equal([]);
  });

  it('force, same bytes, same mode and owner: success that would change nothing', async () => {
    const a = makeAgent();
    a.files.writeFile(DEST, 'same', OWNED);
    const v = await a.push('same', { check: true, force: true, mode: 0o644 });
    expect(v).to.include({ status: 'success', changed: false });
    expect(v.message).to.equal(`check: ${DEST} would be unchanged: same content, mode and owner`);
  });

  it('refused: a protected path is an error, as the real push, and nothing is fetched', async () => {
    const a = makeAgent();
    const v = await a.push('x', { check: true, destination: '/usr/bin/ls', force: true });
    expect(v.status).to.equal('error');
    expect(v.message).to.match(/^check: \/usr\/bin\/ls is a protected path/);
    expect(a.opened()).to.equal(0);
  });

  it('refused: an unknown user names the account; the temp file is removed', async () => {
    const a = makeAgent();
    const v = await a.push('x', { check: true, ownership: { user: 'nobody-here' } });
    expect(v.status).to.equal('error');
    expect(v.message)
      .to.match(/^check: /)
      .and.contain('nobody-here');
    expect(a.files.tempFiles()).to.deep.equal([]);
  });

  it('a corrupted transfer fails the md5 check; the temp file is removed', async () => {
    const a = makeAgent({ faults: { corrupt: true } });
    const v = await a.push('hello world', { check: true });
    expect(v.status).to.equal('error');
    expect(v.message).to.match(/^check: md5 checksum mismatch/);
    expect(a.files.tempFiles()).to.deep.equal([]);
  });

  it('the verified-file steps (validators) run on the temp file; a refusal is the error, nothing placed', async () => {
    const ran: string[] = [];
    const a = makeAgent({
      steps: [
        async (_req, tempPath, dest) => {
          ran.push(`${tempPath} -> ${dest}`);
          return `validator refused ${dest}`;
        },
      ],
    });
    a.files.writeFile(DEST, 'old', OWNED);
    const v = await a.push('new', { check: true, force: true });
    expect(ran).to.have.length(1);
    expect(ran[0]).to.match(new RegExp(`^${DATA_DIR}/filepush/.*_rport_filepush -> ${DEST}$`));
    expect(v).to.include({ status: 'error', message: `check: validator refused ${DEST}` });
    expect(a.files.readText(DEST)).to.equal('old');
    expect(a.files.tempFiles()).to.deep.equal([]);
  });
});

describe('ReceiveFile, verified-file steps on a real push', () => {
  it('run on the verified temp file before it is placed; a refusal leaves the destination as it was', async () => {
    const a = makeAgent({ steps: [async (_req, _temp, dest) => `validator refused ${dest}`] });
    a.files.writeFile(DEST, 'old', OWNED);
    const v = await a.push('new', { force: true });
    expect(v).to.include({ status: 'error', message: `validator refused ${DEST}; ${DEST} left untouched` });
    expect(a.files.readText(DEST)).to.equal('old');
    expect(a.files.tempFiles()).to.deep.equal([]);
  });
});

describe('ReceiveFile, diff: a bounded unified diff in the outcome', () => {
  it('check with diff: the diff of the old file against the pushed one', async () => {
    const a = makeAgent();
    a.files.writeFile(DEST, 'a\nb\nc\n', OWNED);
    const v = await a.push('a\nB\nc\n', { check: true, force: true, diff: true, mode: 0o644 });
    expect(v.diff).to.equal(`--- ${DEST}\n+++ ${DEST} (pushed)\n@@ -1,3 +1,3 @@\n a\n-b\n+B\n c\n`);
    expect(a.files.readText(DEST)).to.equal('a\nb\nc\n');
  });

  it('a real push with diff: the file is replaced and the outcome holds the diff of what it replaced', async () => {
    const a = makeAgent();
    a.files.writeFile(DEST, 'one\n', OWNED);
    const v = await a.push('two\n', { force: true, diff: true });
    expect(v).to.include({ status: 'success', message: SUCCESS_MESSAGE });
    expect(v.diff).to.contain('-one\n+two\n');
    expect(a.files.readText(DEST)).to.equal('two\n');
  });

  it('no diff field unless asked for', async () => {
    const a = makeAgent();
    a.files.writeFile(DEST, 'one\n', OWNED);
    expect(await a.push('two\n', { force: true, check: true })).to.not.have.property('diff');
  });

  it('the reasons when there is none: no old file, binary, too large, same content, left as it is', async () => {
    const a = makeAgent({ settings: { diff: { enabled: true, maxSize: 16 } } });
    expect((await a.push('x\n', { check: true, diff: true })).diff).to.equal(
      `no diff: there is no old file at ${DEST}`,
    );
    a.files.writeFile(DEST, 'bin\0ary', OWNED);
    expect((await a.push('x\n', { check: true, force: true, diff: true })).diff).to.equal(
      'no diff: the old file is binary',
    );
    expect((await a.push('x'.repeat(17), { check: true, force: true, diff: true })).diff).to.equal(
      'no diff: the new file is 17 bytes, over [file-reception] max_diff_size (16 bytes)',
    );
    a.files.writeFile(DEST, 'y'.repeat(17), OWNED);
    expect((await a.push('x\n', { check: true, force: true, diff: true })).diff).to.equal(
      'no diff: the old file is over [file-reception] max_diff_size (16 bytes)',
    );
    a.files.writeFile(DEST, 'same\n', OWNED);
    expect((await a.push('same\n', { check: true, sync: true, diff: true })).diff).to.equal(
      'no diff: the content is the same',
    );
    expect((await a.push('other\n', { diff: true })).diff).to.equal('no diff: the file is left as it is');
  });

  it('an old file the agent may not read: no diff, saying so, and the check goes on', async () => {
    const a = makeAgent({ sudoRules: [] });
    a.files.writeFile('/srv/app/secret', 'top secret\n', { uid: 0, gid: 0, mode: 0o600 });
    a.files.mkdirp('/srv/app', { mode: 0o777 });
    const v = await a.push('x\n', { destination: '/srv/app/secret', check: true, force: true, diff: true });
    expect(v.status).to.equal('success');
    expect(v.diff).to.equal('no diff: the agent may not read the old file /srv/app/secret');
  });

  it('[file-reception] diff = false: no content is read or sent, whatever the push asks', async () => {
    const a = makeAgent({ settings: { diff: { enabled: false, maxSize: 65536 } } });
    a.files.writeFile(DEST, 'secret\n', OWNED);
    a.files.inject('readUpTo', 'EIO');
    for (const check of [true, false]) {
      const v = await a.push('public\n', { check, force: true, diff: true });
      expect(v.diff).to.equal(DIFF_DISABLED);
      expect(JSON.stringify(v)).to.not.contain('secret');
    }
  });

  it('a diff larger than the result line allows is cut at whole lines and says so', async () => {
    const a = makeAgent({ settings: { diff: { enabled: true, maxSize: 1 << 20 } }, chunkSize: 1 << 16 });
    const lines = (tag: string): string =>
      Array.from({ length: 4000 }, (_, i) => `${tag} line ${i} ${'x'.repeat(20)}\n`).join('');
    a.files.writeFile(DEST, lines('old'), OWNED);
    const v = await a.push(lines('new'), { check: true, force: true, diff: true });
    const diff = v.diff ?? '';
    expect(Buffer.byteLength(JSON.stringify(diff))).to.be.at.most(MAX_DIFF_BYTES);
    expect(diff).to.match(/\n… diff truncated: \d+ of its 8003 lines left out/);
  });
});
