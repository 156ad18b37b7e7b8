import { expect } from 'chai';
import { chmod, mkdir, mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteApiUsers } from '../../../src/adapters/sqlite/sqlite-api-users.ts';
import { SqliteAuditLog } from '../../../src/adapters/sqlite/sqlite-audit-log.ts';
import { SqliteClientCredentials } from '../../../src/adapters/sqlite/sqlite-client-credentials.ts';
import { SqliteClientGroupStore } from '../../../src/adapters/sqlite/sqlite-client-group-store.ts';
import { SqliteClientRegistry } from '../../../src/adapters/sqlite/sqlite-client-registry.ts';
import {
  openSqliteDatabase,
  statement,
  type SqliteDb,
} from '../../../src/adapters/sqlite/sqlite-database.ts';
import { SqliteResultStore } from '../../../src/adapters/sqlite/sqlite-result-store.ts';

const exists = (path: string) =>
  stat(path).then(
    () => true,
    () => false,
  );

const client = (id: string) => ({
  id,
  name: `name-${id}`,
  hostname: `${id}.example`,
  os: 'linux',
  tags: ['web'],
  version: '0.1.0',
  fileReception: { enabled: true, protected: ['/bin'] },
});

describe('SQLite adapters (real better-sqlite3 in a temp data_dir)', () => {
  let dir: string;
  let db: SqliteDb;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'rportd-sqlite-'));
    db = openSqliteDatabase(dir);
  });
  afterEach(async () => {
    db.close();
    await rm(dir, { recursive: true, force: true });
  });

  describe('the database', () => {
    it('runs WAL with synchronous = NORMAL: no fsync per commit on the event loop', () => {
      expect(db.pragma('journal_mode', { simple: true })).to.equal('wal');
      expect(db.pragma('synchronous', { simple: true }), '1 = NORMAL').to.equal(1);
    });

    it('statement() prepares each SQL once per database and hands the same statement back', () => {
      const a = statement(db, 'SELECT COUNT(*) AS n FROM clients');
      expect(statement(db, 'SELECT COUNT(*) AS n FROM clients')).to.equal(a);
      expect(statement(db, 'SELECT COUNT(*) AS n FROM audit_log')).to.not.equal(a);
      expect((a.get() as { n: number }).n).to.equal(0);
    });

    describe('file modes (it holds password hashes and the audit log)', () => {
      let umask: number;
      // A umask of 022, as a service usually has: what it would let through is what is checked.
      beforeEach(() => (umask = process.umask(0o022)));
      afterEach(() => process.umask(umask));
      const modeOf = async (path: string) => (await stat(path)).mode & 0o777;

      it('a new data_dir is 0700, and rportd.db with its -wal and -shm files 0600', async () => {
        const dataDir = join(dir, 'new', 'data');
        const fresh = openSqliteDatabase(dataDir);
        try {
          fresh.prepare("INSERT INTO client_credentials (id, password_hash) VALUES ('a', 'h')").run();
          expect(await modeOf(dataDir), 'data_dir').to.equal(0o700);
          for (const f of ['rportd.db', 'rportd.db-wal', 'rportd.db-shm'])
            expect(await modeOf(join(dataDir, f)), f).to.equal(0o600);
        } finally {
          fresh.close();
        }
      });

      it('a data_dir and database an older version left open are tightened', async () => {
        const dataDir = join(dir, 'old');
        await mkdir(dataDir, { mode: 0o755 });
        await chmod(dataDir, 0o755);
        const first = openSqliteDatabase(dataDir);
        first.close();
        for (const f of ['rportd.db', 'rportd.db-wal', 'rportd.db-shm'])
          if (await exists(join(dataDir, f))) await chmod(join(dataDir, f), 0o644);
        await chmod(dataDir, 0o755);
        const again = openSqliteDatabase(dataDir);
        try {
          expect(await modeOf(dataDir), 'data_dir').to.equal(0o700);
          expect(await modeOf(join(dataDir, 'rportd.db')), 'rportd.db').to.equal(0o600);
          for (const f of ['rportd.db-wal', 'rportd.db-shm'])
            expect(await modeOf(join(dataDir, f)), f).to.equal(0o600);
        } finally {
          again.close();
        }
      });
    });
  });

  describe('SqliteApiUsers', () => {
    it('first start creates admin with a random password, stored only as a scrypt hash; second start creates none', async () => {
      const users = new SqliteApiUsers(db);
      const first = await users.ensureInitialAdmin();
      expect(first?.username).to.equal('admin');
      expect(first?.password).to.have.length.greaterThan(15);
      const row = db.prepare('SELECT password_hash FROM api_users').get() as { password_hash: string };
      expect(row.password_hash)
        .to.match(/^scrypt\$/)
        .and.not.include(first!.password);
      expect(await users.ensureInitialAdmin()).to.equal(undefined);
      const caller = await users.authenticate('admin', first!.password);
      expect(caller).to.deep.equal({ username: 'admin', admin: true, groups: ['Administrators'] });
    });

    it('refuses a wrong password and an unknown user', async () => {
      const users = new SqliteApiUsers(db);
      await users.create('bob', 'correct horse', ['ops']);
      expect(await users.authenticate('bob', 'wrong horse')).to.equal(undefined);
      expect(await users.authenticate('nobody', 'correct horse')).to.equal(undefined);
      expect(await users.authenticate('bob', 'correct horse')).to.deep.equal({
        username: 'bob',
        admin: false,
        groups: ['ops'],
      });
    });

    it('a bad username is refused naming it', async () => {
      const users = new SqliteApiUsers(db);
      let err: unknown;
      try {
        await users.create('bad name;', 'long enough pw', []);
      } catch (e) {
        err = e;
      }
      expect((err as Error).message).to.match(/username "bad name;"/);
    });
  });

  it('SqliteClientGroupStore: create, read, update, delete', async () => {
    const groups = new SqliteClientGroupStore(db);
    const g = {
      id: 'web',
      description: 'web servers',
      params: { tag: ['web'], os: ['linux*'] },
      allowed_user_groups: ['ops'],
    };
    expect(await groups.create(g)).to.equal(true);
    expect(await groups.create(g)).to.equal(false);
    expect(await groups.get('web')).to.deep.equal(g);
    expect(await groups.update({ ...g, description: 'changed' })).to.equal(true);
    expect((await groups.list()).map((x) => x.description)).to.deep.equal(['changed']);
    expect(await groups.update({ ...g, id: 'nope' })).to.equal(false);
    expect(await groups.delete('web')).to.equal(true);
    expect(await groups.get('web')).to.equal(undefined);
  });

  it('SqliteClientRegistry: announced clients persist, connected is reset when the registry reopens', async () => {
    const reg = new SqliteClientRegistry(db);
    await reg.announce(client('c1'));
    await reg.announce(client('c2'));
    await reg.disconnected('c2');
    expect((await reg.list()).map((c) => [c.id, c.connected])).to.deep.equal([
      ['c1', true],
      ['c2', false],
    ]);
    expect(await reg.get('c1')).to.deep.include({
      hostname: 'c1.example',
      tags: ['web'],
      fileReception: { enabled: true, protected: ['/bin'] },
    });
    db.close();
    db = openSqliteDatabase(dir);
    const again = new SqliteClientRegistry(db);
    expect((await again.list()).map((c) => [c.id, c.connected])).to.deep.equal([
      ['c1', false],
      ['c2', false],
    ]);
  });

  it('SqliteClientCredentials: hashed, verified, wrong and unknown refused', async () => {
    const creds = new SqliteClientCredentials(db);
    await creds.set('agent1', 'p4ss');
    expect(JSON.stringify(db.prepare('SELECT * FROM client_credentials').all())).to.not.include('p4ss');
    expect(await creds.verify('agent1', 'p4ss')).to.equal(true);
    expect(await creds.verify('agent1', 'p4sS')).to.equal(false);
    expect(await creds.verify('agent2', 'p4ss')).to.equal(false);
  });

  it('SqliteResultStore: targets begin pending, the first final outcome is kept', async () => {
    const results = new SqliteResultStore(db);
    await results.begin('u1', ['a', 'b']);
    const ok = {
      client_id: 'a',
      uuid: 'u1',
      filepath: '/x',
      size: 3,
      message: 'done',
      status: 'success' as const,
      changed: true,
    };
    expect(await results.record(ok)).to.equal(true);
    expect(await results.record({ ...ok, status: 'error', message: 'late', changed: false })).to.equal(false);
    const t = await results.targets('u1');
    expect(t.map((r) => [r.client_id, r.status, r.message, r.changed])).to.deep.equal([
      ['a', 'success', 'done', true],
      ['b', 'pending', '', null],
    ]);
    expect(await results.targets('unknown')).to.deep.equal([]);
  });

  it('SqliteResultStore: the backup an outcome names is stored and read back; absent stays absent', async () => {
    const results = new SqliteResultStore(db);
    await results.begin('u-bak', ['a', 'b']);
    const base = {
      uuid: 'u-bak',
      filepath: '/x',
      size: 1,
      message: 'm',
      status: 'success' as const,
      changed: true,
    };
    await results.record({ ...base, client_id: 'a', backup: '/x.20261204T193000Z.bak' });
    await results.record({ ...base, client_id: 'b' });
    const [a, b] = await results.targets('u-bak');
    expect(a.backup).to.equal('/x.20261204T193000Z.bak');
    expect('backup' in b).to.equal(false);
  });

  it('SqliteResultStore: pendingTargets finds, after a reopen, the targets still pending, with the uploader from the accepted audit entry', async () => {
    const results = new SqliteResultStore(db);
    const audit = new SqliteAuditLog(db);
    const accepted = (uuid: string, username: string) =>
      audit.record({
        timestamp: new Date(),
        application: 'uploads',
        action: 'accepted',
        username,
        upload_uuid: uuid,
        request: {},
      });
    await results.begin('u1', ['a', 'b']);
    await accepted('u1', 'alice');
    await results.begin('u2', ['c']);
    await accepted('u2', 'bob');
    // A crash between begin and the audit entry: the targets are found, the uploader is unknown.
    await results.begin('u3', ['d']);
    await results.record({
      client_id: 'a',
      uuid: 'u1',
      filepath: '/x',
      size: 1,
      message: 'ok',
      status: 'success',
      changed: true,
    });
    // An outcome's audit entry names a client: it is not the upload's acceptance.
    await audit.record({
      timestamp: new Date(),
      application: 'uploads',
      action: 'success',
      username: 'mallory',
      client_id: 'a',
      upload_uuid: 'u3',
      request: {},
    });
    db.close();
    db = openSqliteDatabase(dir);
    const reopened = new SqliteResultStore(db);
    expect(await reopened.pendingTargets()).to.deep.equal([
      { uuid: 'u1', client_id: 'b', requested_by: 'alice' },
      { uuid: 'u2', client_id: 'c', requested_by: 'bob' },
      { uuid: 'u3', client_id: 'd', requested_by: '' },
    ]);
    await reopened.record({
      client_id: 'b',
      uuid: 'u1',
      filepath: '',
      size: 0,
      message: 'x',
      status: 'error',
      changed: false,
    });
    expect((await reopened.pendingTargets()).map((t) => t.client_id)).to.deep.equal(['c', 'd']);
  });

  it('SqliteAuditLog: filters, time window, paging newest first, secrets scrubbed', async () => {
    const audit = new SqliteAuditLog(db);
    const base = Date.parse('2026-01-01T00:00:00Z');
    for (let i = 0; i < 5; i++) {
      await audit.record({
        timestamp: new Date(base + i * 1000),
        application: 'uploads',
        action: i % 2 ? 'success' : 'accepted',
        username: 'admin',
        client_id: i % 2 ? `c${i}` : undefined,
        upload_uuid: 'u1',
        request: { n: i, password: 'hunter2', nested: { token: 'abc' } },
      });
    }
    const all = await audit.query({ limit: 2, offset: 0 });
    expect(all.total).to.equal(5);
    expect(all.entries.map((e) => e.request.n)).to.deep.equal([4, 3]);
    const page2 = await audit.query({ limit: 2, offset: 2 });
    expect(page2.entries.map((e) => e.request.n)).to.deep.equal([2, 1]);
    const successes = await audit.query({ action: 'success', limit: 10, offset: 0 });
    expect(successes.entries.map((e) => e.client_id)).to.deep.equal(['c3', 'c1']);
    expect((await audit.query({ client_id: 'c3', limit: 10, offset: 0 })).total).to.equal(1);
    const window = await audit.query({
      since: new Date(base + 1000),
      until: new Date(base + 3000),
      limit: 10,
      offset: 0,
    });
    expect(window.entries.map((e) => e.request.n)).to.deep.equal([2, 1]);
    const raw = JSON.stringify(db.prepare('SELECT * FROM audit_log').all());
    expect(raw).to.not.include('hunter2').and.not.include('"abc"');
  });
});
