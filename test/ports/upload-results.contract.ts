import { expect } from 'chai';
import type {
  PendingTargets,
  ResultStore,
  UploadQuery,
  UploadResults,
} from '../../src/ports/result-store.ts';

export interface SeededUpload {
  uuid: string;
  targets: string[];
  requestedBy: string;
  createdAt: Date;
  request: Record<string, unknown>;
}

export interface UploadResultsFixture {
  store: ResultStore & UploadResults & PendingTargets;
  /** Begins an upload as AcceptUpload does: its targets, and who made it when (the audit entry). */
  seed(u: SeededUpload): Promise<void>;
  cleanup(): Promise<void>;
}

const at = (minute: number): Date => new Date(Date.UTC(2026, 0, 31, 12, minute));
const all: UploadQuery = { order: 'desc', limit: 50, offset: 0 };

/** Listing uploads, claiming uuids and keeping outcomes: what every result store must share. */
export function uploadResultsContract(name: string, factory: () => Promise<UploadResultsFixture>): void {
  describe(`UploadResults contract: ${name}`, () => {
    let fx: UploadResultsFixture;
    const uuids = async (q: Partial<UploadQuery>): Promise<string[]> =>
      (await fx.store.listUploads({ ...all, ...q })).uploads.map((u) => u.uuid);

    beforeEach(async () => {
      fx = await factory();
      await fx.seed({
        uuid: 'u1',
        targets: ['a', 'b'],
        requestedBy: 'alice',
        createdAt: at(1),
        request: { dest: '/x', mode: 0o644 },
      });
      await fx.seed({
        uuid: 'u2',
        targets: ['b'],
        requestedBy: 'bob',
        createdAt: at(2),
        request: { dest: '/y' },
      });
      await fx.seed({
        uuid: 'u3',
        targets: ['c'],
        requestedBy: 'alice',
        createdAt: at(3),
        request: { dest: '/z' },
      });
      await fx.store.record({
        uuid: 'u1',
        client_id: 'a',
        status: 'success',
        message: 'ok',
        filepath: '/x',
        size: 3,
        changed: true,
      });
      await fx.store.record({
        uuid: 'u2',
        client_id: 'b',
        status: 'error',
        message: 'no',
        filepath: '',
        size: 0,
        changed: false,
      });
    });
    afterEach(() => fx.cleanup());

    it('lists newest first with who, when, the request and every target, and counts them all', async () => {
      const { uploads, total } = await fx.store.listUploads(all);
      expect(total).to.equal(3);
      expect(uploads.map((u) => u.uuid)).to.deep.equal(['u3', 'u2', 'u1']);
      const u1 = uploads[2];
      expect(u1).to.deep.include({ uuid: 'u1', requested_by: 'alice', created_at: at(1).toISOString() });
      expect(u1.request).to.deep.equal({ dest: '/x', mode: 0o644 });
      expect(u1.targets.map((t) => [t.client_id, t.status, t.message, t.filepath, t.size])).to.deep.equal([
        ['a', 'success', 'ok', '/x', 3],
        ['b', 'pending', '', '', 0],
      ]);
    });

    it('oldest first when asked, and pages by limit and offset with the full count', async () => {
      expect(await uuids({ order: 'asc' })).to.deep.equal(['u1', 'u2', 'u3']);
      const page = await fx.store.listUploads({ ...all, limit: 1, offset: 1 });
      expect([page.uploads.map((u) => u.uuid), page.total]).to.deep.equal([['u2'], 3]);
      expect(await uuids({ offset: 3 })).to.deep.equal([]);
    });

    it('filters by user, by target client, by a target status, and by time, combined with AND', async () => {
      expect(await uuids({ username: 'alice' })).to.deep.equal(['u3', 'u1']);
      expect(await uuids({ username: 'nobody' })).to.deep.equal([]);
      expect(await uuids({ client_id: 'b' })).to.deep.equal(['u2', 'u1']);
      expect(await uuids({ status: 'pending' })).to.deep.equal(['u3', 'u1']);
      expect(await uuids({ status: 'error' })).to.deep.equal(['u2']);
      expect(await uuids({ since: at(2) })).to.deep.equal(['u3', 'u2']);
      expect(await uuids({ until: at(2) })).to.deep.equal(['u1']);
      expect(await uuids({ username: 'alice', client_id: 'b', status: 'pending' })).to.deep.equal(['u1']);
      const counted = await fx.store.listUploads({ ...all, username: 'alice', limit: 1 });
      expect(counted.total).to.equal(2);
    });

    it('begin refuses a uuid used before and changes nothing', async () => {
      expect(await fx.store.begin('u1', ['z'])).to.equal(false);
      expect((await fx.store.targets('u1')).map((t) => t.client_id)).to.deep.equal(['a', 'b']);
      expect(await fx.store.begin('u4', ['z'])).to.equal(true);
    });

    it('keeps the diff an outcome carries, shows it per upload, and leaves it out of listings', async () => {
      const diff = '--- /x\n+++ /x (pushed)\n@@ -1,1 +1,1 @@\n-old\n+new\n';
      await fx.store.record({
        uuid: 'u1',
        client_id: 'b',
        status: 'success',
        message: 'check: would replace /x: the content differs',
        filepath: '',
        size: 0,
        changed: true,
        diff,
      });
      const [a, b] = await fx.store.targets('u1');
      expect(a).to.not.have.property('diff');
      expect(b).to.include({ client_id: 'b', diff, changed: true });
      const listed = (await fx.store.listUploads({ ...all, username: 'alice' })).uploads;
      expect(listed.flatMap((u) => u.targets).some((t) => 'diff' in t)).to.equal(false);
    });

    it('a retry (reopen) takes the diff of an error target away with its outcome; the next outcome brings its own', async () => {
      const failed = {
        uuid: 'u3',
        client_id: 'c',
        status: 'error' as const,
        message: 'refused by a validator',
        filepath: '',
        size: 0,
        changed: false,
        diff: 'no diff: the old file is binary\n',
      };
      await fx.store.record(failed);
      expect(await fx.store.reopen('u3')).to.deep.equal(['c']);
      const [reopened] = await fx.store.targets('u3');
      expect(reopened).to.deep.include({ status: 'pending', attempt: 2, changed: null });
      expect(reopened, 'the diff of the first attempt is gone').to.not.have.property('diff');
      expect(
        await fx.store.record({ ...failed, status: 'success', message: 'placed', diff: 'x\n' }),
      ).to.equal(true);
      expect((await fx.store.targets('u3'))[0]).to.include({ status: 'success', diff: 'x\n' });
    });

    it('keeps the backup an outcome names, per upload and in listings; a retry takes it away', async () => {
      const kept = '/x.20261204T193000Z.bak';
      const placed = {
        uuid: 'u1',
        client_id: 'b',
        status: 'error' as const,
        message: 'placed, then the prune failed',
        filepath: '',
        size: 0,
        changed: false,
        backup: kept,
      };
      await fx.store.record(placed);
      const [a, b] = await fx.store.targets('u1');
      expect(a, 'no backup named: none stored').to.not.have.property('backup');
      expect(b).to.include({ client_id: 'b', backup: kept });
      const listed = (await fx.store.listUploads({ ...all, username: 'alice' })).uploads;
      const u1 = listed.find((u) => u.uuid === 'u1');
      expect(u1?.targets.find((t) => t.client_id === 'b')).to.include({ backup: kept });
      expect(await fx.store.reopen('u1')).to.deep.equal(['b']);
      const [, reopened] = await fx.store.targets('u1');
      expect(reopened, 'the backup of the first attempt is gone').to.not.have.property('backup');
      await fx.store.record({ ...placed, status: 'success', backup: '/x.20261205T000000Z.bak' });
      expect((await fx.store.targets('u1'))[1]).to.include({ backup: '/x.20261205T000000Z.bak' });
    });

    it('of two begins racing for a new uuid, exactly one claims it', async () => {
      const both = await Promise.all([fx.store.begin('u5', ['x']), fx.store.begin('u5', ['y'])]);
      expect(both.sort()).to.deep.equal([false, true]);
      expect((await fx.store.targets('u5')).length).to.equal(1);
    });

    it('a target is pending with changed null until its first final outcome, which is kept', async () => {
      const [pending] = await fx.store.targets('u3');
      expect(pending).to.deep.include({ client_id: 'c', status: 'pending', changed: null, size: 0 });
      const done = {
        uuid: 'u3',
        client_id: 'c',
        status: 'ignored' as const,
        message: 'same',
        filepath: '/z',
        size: 7,
      };
      expect(await fx.store.record({ ...done, changed: false })).to.equal(true);
      expect(await fx.store.record({ ...done, status: 'success', message: 'late', changed: true })).to.equal(
        false,
      );
      const [kept] = await fx.store.targets('u3');
      expect(kept).to.deep.include({
        status: 'ignored',
        message: 'same',
        filepath: '/z',
        size: 7,
        changed: false,
      });
      expect(Number.isNaN(Date.parse(kept.updated_at))).to.equal(false);
      const [a] = await fx.store.targets('u1');
      expect(a.changed).to.equal(true);
      expect(await fx.store.targets('unknown')).to.deep.equal([]);
    });

    it('sizes past 4 GiB and messages with any character, a NUL included, are kept', async () => {
      const big = 5 * 1024 ** 3 + 1;
      const message = 'before\0after ü 😀';
      const o = { uuid: 'u3', client_id: 'c', status: 'error' as const, filepath: '', changed: false };
      expect(await fx.store.record({ ...o, message, size: big })).to.equal(true);
      const [t] = await fx.store.targets('u3');
      expect(t.size).to.equal(big);
      expect(t.message).to.match(/^before.after ü 😀$/u);
    });

    it('pendingTargets lists the targets without a final outcome, oldest upload first, with who asked', async () => {
      expect(await fx.store.pendingTargets()).to.deep.equal([
        { uuid: 'u1', client_id: 'b', requested_by: 'alice' },
        { uuid: 'u3', client_id: 'c', requested_by: 'alice' },
      ]);
      await fx.store.record({
        uuid: 'u1',
        client_id: 'b',
        status: 'error',
        message: 'x',
        filepath: '',
        size: 0,
        changed: false,
      });
      expect(await fx.store.pendingTargets()).to.deep.equal([
        { uuid: 'u3', client_id: 'c', requested_by: 'alice' },
      ]);
    });
  });
}
