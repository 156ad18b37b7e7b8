import { expect } from 'chai';
import { failure, success, type PushVerdict } from '../../src/domain/outcome.ts';
import { parseUploadFields } from '../../src/domain/upload-fields.ts';
import type { ClientChannel } from '../../src/ports/client-channel.ts';
import { HERO_UID, makeAgent, RPORT_GID, RPORT_UID } from './support/agent-fixture.ts';
import { ADMIN, client, form, makeServer } from './support/server-fixture.ts';

const DEST = '/srv/app/file.txt';
const KEY = '[file-reception] allow_special_bits = true in rport.conf';
const mine = (mode: number) => ({ uid: RPORT_UID, gid: RPORT_GID, mode });

describe('ReceiveFile: changed tells whether the file on the host changed', () => {
  it('a new file: success, changed', async () => {
    const v = await makeAgent().push('new');
    expect([v.status, v.changed]).to.deep.equal(['success', true]);
  });

  it('an existing file without force or sync: ignored, unchanged', async () => {
    const a = makeAgent();
    a.files.writeFile(DEST, 'old', mine(0o764));
    const v = await a.push('new');
    expect([v.status, v.changed]).to.deep.equal(['ignored', false]);
  });

  it('force with the same bytes, mode and owner: success (the file is replaced) but unchanged', async () => {
    const a = makeAgent();
    a.files.writeFile(DEST, 'same', mine(0o764));
    const v = await a.push('same', { force: true });
    expect([v.status, v.changed]).to.deep.equal(['success', false]);
    expect(a.opened(), 'still fetched and replaced, as force promises').to.equal(1);
  });

  it('force with the same bytes and another mode: changed', async () => {
    const a = makeAgent();
    a.files.writeFile(DEST, 'same', mine(0o764));
    const v = await a.push('same', { force: true, mode: 0o640 });
    expect([v.status, v.changed]).to.deep.equal(['success', true]);
    expect(a.files.lstat(DEST)?.mode).to.equal(0o640);
  });

  it('force with other bytes of the same size: changed', async () => {
    const a = makeAgent();
    a.files.writeFile(DEST, 'aaaa', mine(0o764));
    const v = await a.push('bbbb', { force: true });
    expect([v.status, v.changed]).to.deep.equal(['success', true]);
  });

  it('force onto a file the agent may not read: counted as changed', async () => {
    const a = makeAgent();
    a.files.writeFile(DEST, 'same', { uid: HERO_UID, gid: RPORT_GID, mode: 0o600 });
    const v = await a.push('same', { force: true });
    expect(v.changed, v.message).to.equal(true);
  });

  it('sync, same md5, mode and owner: ignored and unchanged; same md5 with another mode: success and changed, without a fetch', async () => {
    const a = makeAgent();
    a.files.writeFile(DEST, 'same', mine(0o640));
    const inSync = await a.push('same', { sync: true, mode: 0o640 });
    expect([inSync.status, inSync.changed]).to.deep.equal(['ignored', false]);
    const moded = await a.push('same', { sync: true, mode: 0o600 });
    expect([moded.status, moded.changed]).to.deep.equal(['success', true]);
    expect(a.files.lstat(DEST)?.mode).to.equal(0o600);
    expect(a.opened()).to.equal(0);
  });

  it('sync with other content: success, changed', async () => {
    const a = makeAgent();
    a.files.writeFile(DEST, 'old', mine(0o764));
    const v = await a.push('new', { sync: true });
    expect([v.status, v.changed]).to.deep.equal(['success', true]);
  });

  it('an error (md5 mismatch): unchanged, the file left as it was', async () => {
    const a = makeAgent();
    a.files.writeFile(DEST, 'old', mine(0o764));
    const v = await a.push('new', { force: true, md5: '0'.repeat(32) });
    expect([v.status, v.changed]).to.deep.equal(['error', false]);
    expect(a.files.readText(DEST)).to.equal('old');
  });
});

describe('ReceiveFile: setuid, setgid and sticky only where the host allows them', () => {
  for (const [mode, words] of [
    [0o4755, 'setuid'],
    [0o2755, 'setgid'],
    [0o1644, 'sticky'],
    [0o7777, 'setuid, setgid and sticky'],
  ] as const) {
    it(`mode 0${mode.toString(8)} is refused by default, naming ${words} and the key; nothing is fetched or written`, async () => {
      const a = makeAgent();
      const v = await a.push('x', { mode });
      expect(v.status).to.equal('error');
      expect(v.message).to.contain(`asks for ${words}`);
      expect(v.message).to.contain(KEY);
      expect(a.opened()).to.equal(0);
      expect(a.files.lstat(DEST)).to.equal(undefined);
      expect(a.files.tempFiles()).to.deep.equal([]);
    });
  }

  it('a sync asking for a special mode on an existing file is refused too, and the mode stays', async () => {
    const a = makeAgent();
    a.files.writeFile(DEST, 'same', mine(0o755));
    const v = await a.push('same', { sync: true, mode: 0o4755 });
    expect(v.status).to.equal('error');
    expect(v.message).to.contain(KEY);
    expect(a.files.lstat(DEST)?.mode).to.equal(0o755);
  });

  it('with allow_special_bits = true the mode is placed as asked', async () => {
    const a = makeAgent({ settings: { allowSpecialBits: true } });
    const v = await a.push('x', { mode: 0o4755 });
    expect(v.status, v.message).to.equal('success');
    expect(a.files.lstat(DEST)?.mode).to.equal(0o4755);
  });

  it('sync changing the owner of a setuid file (no mode asked) is refused: the chown would clear the bit and only the key may set it again', async () => {
    const a = makeAgent();
    a.files.writeFile(DEST, 'same', mine(0o4755));
    const v = await a.push('same', { sync: true, ownership: { user: 'hero' } });
    expect(v.status).to.equal('error');
    expect(v.message).to.contain(`${DEST} has setuid set`);
    expect(v.message).to.contain(KEY);
    expect(a.files.lstat(DEST)).to.include({ uid: RPORT_UID, mode: 0o4755 });
  });
});

describe('server: [server] allow_special_bits', () => {
  const fields = (mode: string) =>
    new Map([
      ['client_id', ['c1']],
      ['dest', ['/srv/x']],
      ['mode', [mode]],
    ]);

  it('allowed by default: 4755 parses as before', () => {
    const r = parseUploadFields(fields('4755'));
    expect(r.ok && r.value.mode).to.equal(0o4755);
  });

  it('false: a special mode is refused naming the mode field and the key; a plain mode still passes', () => {
    const r = parseUploadFields(fields('02750'), { allowSpecialBits: false });
    expect(r.ok).to.equal(false);
    if (r.ok) return;
    expect(r.rejection).to.include({ kind: 'invalid', field: 'mode' });
    expect(r.rejection.detail).to.contain('setgid');
    expect(r.rejection.detail).to.contain('[server] allow_special_bits = false');
    const plain = parseUploadFields(fields('0750'), { allowSpecialBits: false });
    expect(plain.ok && plain.value.mode).to.equal(0o750);
  });

  it('AcceptUpload with the rule off: refused before anything is staged, and audited', async () => {
    const s = makeServer({ clients: [client('c1')], fieldRules: { allowSpecialBits: false } });
    const r = await s.accept.execute(
      ADMIN,
      form(['client_id', 'c1'], ['dest', '/srv/x'], ['mode', '4755'], { file: 'x' }),
    );
    expect(r.ok).to.equal(false);
    if (r.ok) return;
    expect(r.rejection.field).to.equal('mode');
    expect(s.staging.names()).to.deep.equal([]);
    expect(s.audit.entries.map((e) => e.action)).to.deep.equal(['rejected']);
  });
});

describe('DispatchToClients: changed of a verdict that does not carry it (an older agent)', () => {
  for (const [verdict, changed] of [
    [success('placed', false), false],
    [{ status: 'success', message: 'placed' } as PushVerdict, true],
    [{ status: 'ignored', message: 'exists' } as PushVerdict, false],
    [failure('broken'), false],
  ] as const) {
    it(`${verdict.status} with changed ${String(verdict.changed)} is stored as changed ${changed}`, async () => {
      const s = makeServer({ clients: [client('c1')] });
      const channel: ClientChannel = { push: async () => verdict };
      s.channels.connect('c1', channel);
      const r = await s.accept.execute(ADMIN, form(['client_id', 'c1'], ['dest', '/srv/x'], { file: 'x' }));
      if (!r.ok) throw new Error(r.rejection.detail);
      await r.distributed;
      expect(s.results.outcomes(r.upload.staged.uuid)[0].changed).to.equal(changed);
      expect(s.broadcaster.published[0].changed).to.equal(changed);
    });
  }
});
