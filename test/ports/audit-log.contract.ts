import { expect } from 'chai';
import type { AuditEntry } from '../../src/domain/audit-entry.ts';
import type { AuditLog, AuditQueries } from '../../src/ports/audit-log.ts';

export interface AuditLogFixture {
  log: AuditLog & AuditQueries;
  /** Every stored row as text, to look for what must never be stored. */
  raw(): Promise<string>;
  cleanup(): Promise<void>;
}

const base = Date.parse('2026-01-01T00:00:00Z');
const entry = (i: number, over: Partial<AuditEntry> = {}): AuditEntry => ({
  timestamp: new Date(base + i * 1000),
  application: 'uploads',
  action: i % 2 ? 'success' : 'accepted',
  username: 'admin',
  client_id: i % 2 ? `c${i}` : undefined,
  upload_uuid: 'u1',
  request: { n: i },
  ...over,
});

/** The stored audit log and its queries: what the SQLite and PostgreSQL adapters must share. */
export function auditLogContract(name: string, factory: () => Promise<AuditLogFixture>): void {
  describe(`AuditLog contract: ${name}`, () => {
    let fx: AuditLogFixture;
    const all = { limit: 50, offset: 0 };
    beforeEach(async () => {
      fx = await factory();
    });
    afterEach(() => fx.cleanup());

    it('pages newest first with the full count; ids grow; the entry comes back as written', async () => {
      for (let i = 0; i < 5; i++) await fx.log.record(entry(i));
      const first = await fx.log.query({ limit: 2, offset: 0 });
      expect(first.total).to.equal(5);
      expect(first.entries.map((e) => e.request.n)).to.deep.equal([4, 3]);
      expect((await fx.log.query({ limit: 2, offset: 2 })).entries.map((e) => e.request.n)).to.deep.equal([
        2, 1,
      ]);
      expect((await fx.log.query({ limit: 2, offset: 5 })).entries).to.deep.equal([]);
      const [newest] = first.entries;
      expect(newest).to.deep.equal({
        id: newest.id,
        timestamp: new Date(base + 4000).toISOString(),
        application: 'uploads',
        action: 'accepted',
        username: 'admin',
        upload_uuid: 'u1',
        request: { n: 4 },
      });
      expect(first.entries[0].id).to.be.greaterThan(first.entries[1].id);
    });

    it('entries of the same instant come newest written first', async () => {
      await fx.log.record(entry(0, { request: { n: 'a' } }));
      await fx.log.record(entry(0, { request: { n: 'b' } }));
      expect((await fx.log.query(all)).entries.map((e) => e.request.n)).to.deep.equal(['b', 'a']);
    });

    it('filters by each field and by a time window (since inclusive, until exclusive), combined with AND', async () => {
      for (let i = 0; i < 5; i++) await fx.log.record(entry(i));
      await fx.log.record(
        entry(9, { application: 'clients', action: 'key-bound', username: 'bob', upload_uuid: undefined }),
      );
      const ns = async (q: Record<string, unknown>) =>
        (await fx.log.query({ ...all, ...q })).entries.map((e) => e.request.n);
      expect(await ns({ action: 'success' })).to.deep.equal([3, 1]);
      expect(await ns({ client_id: 'c3' })).to.deep.equal([3]);
      expect(await ns({ application: 'clients' })).to.deep.equal([9]);
      expect(await ns({ username: 'bob' })).to.deep.equal([9]);
      expect(await ns({ upload_uuid: 'u1', action: 'accepted' })).to.deep.equal([4, 2, 0]);
      expect(await ns({ since: new Date(base + 1000), until: new Date(base + 3000) })).to.deep.equal([2, 1]);
      expect((await fx.log.query({ ...all, username: 'nobody' })).total).to.equal(0);
    });

    it('secret-looking fields are stored redacted, at any depth', async () => {
      await fx.log.record(
        entry(0, { request: { password: 'hunter2', nested: [{ token: 'abc' }], dest: '/x' } }),
      );
      const [e] = (await fx.log.query(all)).entries;
      expect(e.request).to.deep.equal({
        password: '[redacted]',
        nested: [{ token: '[redacted]' }],
        dest: '/x',
      });
      expect(await fx.raw())
        .to.not.include('hunter2')
        .and.not.include('"abc"');
    });

    it('a request holding a NUL, quotes and any Unicode comes back as it was', async () => {
      const request = { dest: '/tmp/a\0b', note: `it's "quoted" \\ ü 😀`, list: [1, null, true] };
      await fx.log.record(entry(0, { request }));
      expect((await fx.log.query(all)).entries[0].request).to.deep.equal(request);
    });
  });
}
