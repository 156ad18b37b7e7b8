import { expect } from 'chai';
import type { ResultStore, UploadQuery, UploadResults } from '../../src/ports/result-store.ts';

export interface SeededUpload {
  uuid: string;
  targets: string[];
  requestedBy: string;
  createdAt: Date;
  request: Record<string, unknown>;
}

export interface UploadResultsFixture {
  store: ResultStore & UploadResults;
  /** Begins an upload as AcceptUpload does: its targets, and who made it when (the audit entry). */
  seed(u: SeededUpload): Promise<void>;
  cleanup(): Promise<void>;
}

const at = (minute: number): Date => new Date(Date.UTC(2026, 0, 31, 12, minute));
const all: UploadQuery = { order: 'desc', limit: 50, offset: 0 };

/** Listing uploads and claiming uuids: what the SQLite store and the in-memory one must share. */
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
  });
}
