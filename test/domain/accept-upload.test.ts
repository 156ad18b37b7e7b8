import { expect } from 'chai';
import type { Caller } from '../../src/domain/caller.ts';
import { failure, success } from '../../src/domain/outcome.ts';
import type { ClientChannel } from '../../src/ports/client-channel.ts';
import { MalformedFormError, type FormPart, type UploadForm } from '../../src/ports/upload-form.ts';
import { ADMIN, chunks, client, form, group, makeServer } from './support/server-fixture.ts';

const answering = (verdict = success('file successfully copied to destination')): ClientChannel => ({
  push: async () => verdict,
});

function setup(opts: Parameters<typeof makeServer>[0] = {}) {
  const s = makeServer({
    clients: [client('c1'), client('c2'), client('c3', { tags: ['db'] })],
    groups: [group('dbs', { tag: ['db'] }, ['DB Admins']), group('empty', { tag: ['none'] })],
    ...opts,
  });
  for (const id of ['c1', 'c2', 'c3']) s.channels.connect(id, answering());
  return s;
}

const rejectedAudits = (s: ReturnType<typeof makeServer>) =>
  s.audit.entries.filter((e) => e.action === 'rejected');

describe('AcceptUpload', () => {
  it('send file success: staged with md5 and sha256, results begun, accepted upload audited, every target gets an outcome', async () => {
    const s = setup();
    const r = await s.accept.execute(
      ADMIN,
      form(
        ['client_id', 'c1'],
        ['client_id', 'c2'],
        ['dest', '/srv/x.txt'],
        ['mode', '0640'],
        ['force', 'true'],
        { file: 'hello' },
      ),
    );
    expect(r.ok).to.equal(true);
    if (!r.ok) return;
    expect(r.upload.staged).to.include({
      size: 5,
      md5: '5d41402abc4b2a76b9719d911017c592',
      sha256: '2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824',
    });
    expect(r.upload).to.include({
      destination: '/srv/x.txt',
      force: true,
      sync: false,
      mode: 0o640,
      requestedBy: 'admin',
    });
    expect(r.upload.targets).to.deep.equal(['c1', 'c2']);
    const accepted = s.audit.entries.find((e) => e.action === 'accepted');
    expect(accepted?.upload_uuid).to.equal(r.upload.staged.uuid);
    expect(accepted?.request).to.include({ dest: '/srv/x.txt', size: 5, filename: 'file.txt' });
    await r.distributed;
    expect(s.results.outcomes(r.upload.staged.uuid).map((o) => o.status)).to.deep.equal([
      'success',
      'success',
    ]);
    expect(s.staging.names()).to.deep.equal([]);
  });

  it('the file part may come before the text fields', async () => {
    const s = setup();
    const r = await s.accept.execute(ADMIN, form({ file: 'abc' }, ['dest', '/srv/x'], ['client_id', 'c1']));
    expect(r.ok).to.equal(true);
  });

  it('a group target is expanded to its clients, each once, together with explicit clients', async () => {
    const s = setup();
    const r = await s.accept.execute(
      ADMIN,
      form(['client_id', 'c3'], ['client_id', 'c3'], ['group_id', 'dbs'], ['dest', '/srv/x'], {
        file: 'abc',
      }),
    );
    expect(r.ok && r.upload.targets).to.deep.equal(['c3']);
  });

  it('over the size limit: rejected as too large, nothing stays staged, and the rejection is audited', async () => {
    const s = setup({ maxBytes: 4 });
    const r = await s.accept.execute(
      ADMIN,
      form(['client_id', 'c1'], ['dest', '/srv/x'], { file: 'too many bytes' }),
    );
    expect(r.ok).to.equal(false);
    if (r.ok) return;
    expect(r.rejection).to.include({ kind: 'too-large', field: 'upload' });
    expect(r.rejection.detail).to.contain('max_filepush_size');
    expect(s.staging.names()).to.deep.equal([]);
    expect(rejectedAudits(s)).to.have.length(1);
    expect(s.results.uuids()).to.deep.equal([]);
  });

  it('exactly at the size limit: accepted', async () => {
    const s = setup({ maxBytes: 3 });
    expect(
      (await s.accept.execute(ADMIN, form(['client_id', 'c1'], ['dest', '/srv/x'], { file: 'abc' }))).ok,
    ).to.equal(true);
  });

  it('an unknown client: rejected as not found naming the client_id, nothing left staged, audited', async () => {
    const s = setup();
    const r = await s.accept.execute(
      ADMIN,
      form({ file: 'abc' }, ['client_id', 'c1'], ['client_id', 'ghost'], ['dest', '/srv/x']),
    );
    expect(!r.ok && r.rejection).to.deep.include({ kind: 'not-found', field: 'client_id' });
    expect(!r.ok && r.rejection.detail).to.contain('ghost');
    expect(s.staging.names()).to.deep.equal([]);
    expect(rejectedAudits(s)[0].request).to.include({ field: 'client_id', reason: 'not-found' });
  });

  describe('fields sent before the file are checked before the file is read', () => {
    /** A form whose file part notes whether anyone read a byte of it. */
    function watchedForm(
      before: [string, string][],
      after: [string, string][] = [],
    ): { form: UploadForm; read: () => boolean } {
      let read = false;
      async function* content(): AsyncIterable<Uint8Array> {
        read = true;
        yield Buffer.from('abc');
      }
      return {
        read: () => read,
        form: {
          async *parts(): AsyncIterable<FormPart> {
            for (const [name, value] of before) yield { kind: 'field', name, value };
            yield { kind: 'file', name: 'upload', filename: 'f.bin', content: content() };
            for (const [name, value] of after) yield { kind: 'field', name, value };
          },
        },
      };
    }

    it('an unknown client: not found naming it, the file never read, nothing staged, the rejection audited', async () => {
      const s = setup();
      const w = watchedForm([
        ['client_id', 'ghost'],
        ['dest', '/srv/x'],
      ]);
      const r = await s.accept.execute(ADMIN, w.form);
      expect(!r.ok && r.rejection).to.deep.include({ kind: 'not-found', field: 'client_id' });
      expect(w.read()).to.equal(false);
      expect(s.staging.names()).to.deep.equal([]);
      expect(rejectedAudits(s)[0].request).to.include({ field: 'client_id', reason: 'not-found' });
    });

    it('a client the user may not reach: forbidden, the file never read', async () => {
      const s = setup();
      const user: Caller = { username: 'dba', admin: false, groups: ['DB Admins'] };
      const w = watchedForm([
        ['client_id', 'c1'],
        ['dest', '/srv/x'],
      ]);
      const r = await s.accept.execute(user, w.form);
      expect(!r.ok && r.rejection).to.deep.include({ kind: 'forbidden', field: 'client_id' });
      expect(w.read()).to.equal(false);
    });

    it('a bad mode: invalid naming mode, the file never read', async () => {
      const s = setup();
      const w = watchedForm([
        ['client_id', 'c1'],
        ['dest', '/srv/x'],
        ['mode', '0999'],
      ]);
      const r = await s.accept.execute(ADMIN, w.form);
      expect(!r.ok && r.rejection).to.deep.include({ kind: 'invalid', field: 'mode' });
      expect(w.read()).to.equal(false);
    });

    it('a field still missing is not an early rejection: dest after the file is accepted', async () => {
      const s = setup();
      const w = watchedForm([['client_id', 'c1']], [['dest', '/srv/x']]);
      const r = await s.accept.execute(ADMIN, w.form);
      expect(r.ok).to.equal(true);
      expect(w.read()).to.equal(true);
    });

    /** Notes every client id the use case looks up in the registry. */
    function countLookups(s: ReturnType<typeof setup>): string[] {
      const lookups: string[] = [];
      const get = s.registry.get.bind(s.registry);
      s.registry.get = (id) => (lookups.push(id), get(id));
      return lookups;
    }

    it('fields sent before the file are resolved once: each client is looked up once', async () => {
      const s = setup();
      const lookups = countLookups(s);
      const r = await s.accept.execute(ADMIN, form(['client_id', 'c1'], ['dest', '/srv/x'], { file: 'abc' }));
      expect(r.ok && r.upload.targets).to.deep.equal(['c1']);
      expect(lookups).to.deep.equal(['c1']);
    });

    it('a field after the file is honoured: the targets are resolved again with it', async () => {
      const s = setup();
      const lookups = countLookups(s);
      const r = await s.accept.execute(
        ADMIN,
        form(['client_id', 'c1'], ['dest', '/srv/x'], { file: 'abc' }, ['client_id', 'c2']),
      );
      expect(r.ok && r.upload.targets).to.deep.equal(['c1', 'c2']);
      expect(lookups).to.deep.equal(['c1', 'c1', 'c2']);
    });

    it('a client group with no clients before the file, and a client_id after it: accepted for that client', async () => {
      const s = setup();
      const w = watchedForm(
        [
          ['group_id', 'empty'],
          ['dest', '/srv/x'],
        ],
        [['client_id', 'c1']],
      );
      const r = await s.accept.execute(ADMIN, w.form);
      expect(r.ok && r.upload.targets).to.deep.equal(['c1']);
    });
  });

  it('an unknown group: rejected as not found naming the group_id, nothing left staged, audited', async () => {
    const s = setup();
    const r = await s.accept.execute(ADMIN, form({ file: 'abc' }, ['group_id', 'nope'], ['dest', '/srv/x']));
    expect(!r.ok && r.rejection).to.deep.include({ kind: 'not-found', field: 'group_id' });
    expect(s.staging.names()).to.deep.equal([]);
    expect(rejectedAudits(s)).to.have.length(1);
  });

  it('send file failed, missing targets: no client_id and no group_id is rejected, nothing staged, audited', async () => {
    const s = setup();
    const r = await s.accept.execute(ADMIN, form({ file: 'abc' }, ['dest', '/srv/x']));
    expect(!r.ok && r.rejection).to.deep.include({ kind: 'invalid', field: 'client_id' });
    expect(s.staging.names()).to.deep.equal([]);
    expect(rejectedAudits(s)).to.have.length(1);
  });

  it('groups that hold no clients: rejected, nothing to push to', async () => {
    const s = setup();
    const r = await s.accept.execute(ADMIN, form({ file: 'abc' }, ['group_id', 'empty'], ['dest', '/srv/x']));
    expect(!r.ok && r.rejection.detail).to.contain('hold no clients');
    expect(s.staging.names()).to.deep.equal([]);
  });

  it('send file denied, bad destination: rejected naming dest, nothing staged, audited', async () => {
    const s = setup();
    for (const dest of ['relative/x', '/srv/dir/', '/proc/self/mem', '']) {
      const r = await s.accept.execute(ADMIN, form({ file: 'abc' }, ['client_id', 'c1'], ['dest', dest]));
      expect(!r.ok && r.rejection.field, dest).to.equal('dest');
    }
    expect(s.staging.names()).to.deep.equal([]);
    expect(rejectedAudits(s)).to.have.length(4);
  });

  it('a user may not push to a client outside their groups: forbidden, nothing staged', async () => {
    const s = setup();
    const dbAdmin: Caller = { username: 'dora', admin: false, groups: ['DB Admins'] };
    const r = await s.accept.execute(dbAdmin, form({ file: 'abc' }, ['client_id', 'c1'], ['dest', '/srv/x']));
    expect(!r.ok && r.rejection).to.deep.include({ kind: 'forbidden', field: 'client_id' });
    expect(s.staging.names()).to.deep.equal([]);
    const ok = await s.accept.execute(
      dbAdmin,
      form({ file: 'abc' }, ['client_id', 'c3'], ['dest', '/srv/x']),
    );
    expect(ok.ok).to.equal(true);
  });

  it('a user may not push to a client group not allowed for them: forbidden naming group_id', async () => {
    const s = setup();
    const r = await s.accept.execute(
      { username: 'ned', admin: false, groups: [] },
      form({ file: 'abc' }, ['group_id', 'dbs'], ['dest', '/srv/x']),
    );
    expect(!r.ok && r.rejection).to.deep.include({ kind: 'forbidden', field: 'group_id' });
  });

  it('no file part: rejected naming upload', async () => {
    const s = setup();
    const r = await s.accept.execute(ADMIN, form(['client_id', 'c1'], ['dest', '/srv/x']));
    expect(!r.ok && r.rejection).to.deep.include({ kind: 'invalid', field: 'upload' });
  });

  it('two file parts: rejected, and the first staged file is removed', async () => {
    const s = setup();
    const r = await s.accept.execute(
      ADMIN,
      form(['client_id', 'c1'], ['dest', '/srv/x'], { file: 'a' }, { file: 'b' }),
    );
    expect(!r.ok && r.rejection.detail).to.contain('more than one file');
    expect(s.staging.names()).to.deep.equal([]);
  });

  it('a file part under another name: rejected naming that part', async () => {
    const s = setup();
    const r = await s.accept.execute(
      ADMIN,
      form(['client_id', 'c1'], ['dest', '/srv/x'], { file: 'a', name: 'file' }),
    );
    expect(!r.ok && r.rejection.field).to.equal('file');
  });

  it('a malformed multipart body: rejected as malformed, nothing staged, audited', async () => {
    const s = setup();
    const broken: UploadForm = {
      async *parts(): AsyncIterable<FormPart> {
        yield { kind: 'field', name: 'dest', value: '/srv/x' };
        yield {
          kind: 'file',
          name: 'upload',
          filename: 'f',
          content: (async function* () {
            yield new Uint8Array([1, 2]);
            throw new MalformedFormError('unexpected end of body');
          })(),
        };
      },
    };
    const r = await s.accept.execute(ADMIN, broken);
    expect(!r.ok && r.rejection).to.deep.include({ kind: 'malformed', field: 'upload' });
    expect(s.staging.names()).to.deep.equal([]);
    expect(rejectedAudits(s)).to.have.length(1);
  });

  it('an unexpected failure while receiving: nothing stays staged, the failure is audited, and the error propagates', async () => {
    const s = setup();
    const failing: UploadForm = {
      async *parts(): AsyncIterable<FormPart> {
        yield { kind: 'file', name: 'upload', filename: 'f', content: chunks('abc') };
        throw new Error('socket reset');
      },
    };
    let caught: unknown;
    await s.accept.execute(ADMIN, failing).catch((e: unknown) => (caught = e));
    expect((caught as Error).message).to.equal('socket reset');
    expect(s.staging.names()).to.deep.equal([]);
    expect(s.audit.entries.map((e) => [e.action, e.request.reason])).to.deep.equal([
      ['failed', 'socket reset'],
    ]);
  });

  it('every accepted and rejected upload is audited, and the audit never holds the file content', async () => {
    const s = setup();
    await s.accept.execute(ADMIN, form(['client_id', 'c1'], ['dest', '/srv/x'], { file: 'SECRET-CONTENT' }));
    await s.accept.execute(ADMIN, form(['client_id', 'ghost'], ['dest', '/srv/x'], { file: 'abc' }));
    await s.accept.execute(ADMIN, form(['client_id', 'c1'], ['dest', 'rel'], { file: 'abc' }));
    expect(
      s.audit.entries.filter((e) => e.action === 'accepted' || e.action === 'rejected').map((e) => e.action),
    ).to.deep.equal(['accepted', 'rejected', 'rejected']);
    expect(JSON.stringify(s.audit.entries)).not.to.contain('SECRET-CONTENT');
  });

  it('the outcome of a client that fails is recorded as error while others succeed', async () => {
    const s = setup();
    s.channels.connect('c2', answering(failure('boom')));
    const r = await s.accept.execute(
      ADMIN,
      form(['client_id', 'c1'], ['client_id', 'c2'], ['dest', '/srv/x'], { file: 'abc' }),
    );
    if (!r.ok) throw new Error('rejected');
    await r.distributed;
    expect(s.results.outcomes(r.upload.staged.uuid).map((o) => [o.client_id, o.status])).to.deep.equal([
      ['c1', 'success'],
      ['c2', 'error'],
    ]);
  });
});
