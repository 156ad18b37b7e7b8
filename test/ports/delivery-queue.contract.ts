import { expect } from 'chai';
import type { AcceptedUpload } from '../../src/domain/accepted-upload.ts';
import type { DeliveryQueue, UploadArchive } from '../../src/ports/delivery-queue.ts';
import type { ResultStore } from '../../src/ports/result-store.ts';

/** One implementation of the stores offline delivery and retry rely on, over a fresh database. */
export interface DeliveryStores {
  queue: DeliveryQueue;
  archive: UploadArchive;
  results: ResultStore;
  /** The stored message of one target (pending or final), read the way that store shows it. */
  messageOf(uuid: string, clientId: string): Promise<string>;
  /** Closes and reopens the storage (a restart of rportd); undefined where nothing outlives the object. */
  reopen?: () => Promise<Pick<DeliveryStores, 'queue' | 'archive'>>;
  cleanup(): Promise<void>;
}

const U1 = '00000000-0000-4000-8000-0000000000a1';
const U2 = '00000000-0000-4000-8000-0000000000a2';
const at = (s: number) => new Date(Date.UTC(2026, 0, 1, 0, 0, s));

const upload = (uuid: string): AcceptedUpload => ({
  staged: { uuid, name: `${uuid}_rport_filepush`, size: 7, md5: 'm', sha256: 's' },
  filename: 'app.conf',
  destination: '/etc/app.conf',
  force: true,
  sync: false,
  mode: 0o640,
  ownership: { user: 'app' },
  targets: ['c1', 'c2'],
  requestedBy: 'alice',
  offlineTtl: 600,
});

/** The behaviour every DeliveryQueue / UploadArchive / ResultStore (retry part) must show. */
export function deliveryStoresContract(
  name: string,
  make: () => Promise<DeliveryStores>,
  outlivesRestart = false,
): void {
  describe(`delivery stores contract: ${name}`, () => {
    let s: DeliveryStores;
    beforeEach(async () => {
      s = await make();
    });
    afterEach(() => s.cleanup());

    it('the queue keeps targets in the order they were queued; a re-queue moves the end, not the place', async () => {
      await s.queue.enqueue({ uuid: U1, client_id: 'c2', expires_at: at(10) });
      await s.queue.enqueue({ uuid: U2, client_id: 'c1', expires_at: at(20) });
      await s.queue.enqueue({ uuid: U1, client_id: 'c1', expires_at: at(30) });
      await s.queue.enqueue({ uuid: U1, client_id: 'c2', expires_at: at(40) });
      expect(await s.queue.all()).to.deep.equal([
        { uuid: U1, client_id: 'c2', expires_at: at(40) },
        { uuid: U2, client_id: 'c1', expires_at: at(20) },
        { uuid: U1, client_id: 'c1', expires_at: at(30) },
      ]);
      expect((await s.queue.forClient('c1')).map((t) => t.uuid)).to.deep.equal([U2, U1]);
      expect(await s.queue.forClient('c9')).to.deep.equal([]);
    });

    it('remove takes a target once: the second time says it was not queued', async () => {
      await s.queue.enqueue({ uuid: U1, client_id: 'c1', expires_at: at(10) });
      expect(await s.queue.remove(U1, 'c1')).to.equal(true);
      expect(await s.queue.remove(U1, 'c1')).to.equal(false);
      expect(await s.queue.all()).to.deep.equal([]);
    });

    it("a node's claim hands it a client's targets, oldest first, again when renewed; release keeps them queued", async () => {
      await s.queue.enqueue({ uuid: U1, client_id: 'c1', expires_at: at(10) });
      await s.queue.enqueue({ uuid: U2, client_id: 'c2', expires_at: at(20) });
      await s.queue.enqueue({ uuid: U2, client_id: 'c1', expires_at: at(30) });
      const c1 = [
        { uuid: U1, client_id: 'c1', expires_at: at(10) },
        { uuid: U2, client_id: 'c1', expires_at: at(30) },
      ];
      expect(await s.queue.claim('c1', 60_000)).to.deep.equal(c1);
      expect(await s.queue.claim('c1', 60_000), 'a claim again renews its own').to.deep.equal(c1);
      expect(await s.queue.claim('c9', 60_000)).to.deep.equal([]);
      expect(await s.queue.release(U1, 'c1')).to.equal(true);
      expect(await s.queue.release(U1, 'c3'), 'never queued').to.equal(false);
      expect(await s.queue.all(), 'released, not removed').to.have.length(3);
      expect(await s.queue.claim('c1', 60_000), 'a released target can be claimed again').to.deep.equal(c1);
      expect(await s.queue.remove(U2, 'c1'), 'its own claim does not stop the node ending it').to.equal(true);
      expect(await s.queue.release(U2, 'c1'), 'ended: nothing to release').to.equal(false);
      expect(await s.queue.claim('c1', 60_000)).to.deep.equal([c1[0]]);
    });

    it('the archive gives back the upload as saved; a second save keeps the first', async () => {
      await s.archive.save(upload(U1));
      await s.archive.save({ ...upload(U1), destination: '/elsewhere' });
      expect(await s.archive.find(U1)).to.deep.equal({ upload: upload(U1), staged: true });
      expect(await s.archive.find(U2)).to.equal(undefined);
    });

    it('the archive tracks the staged file: kept until a time, then removed', async () => {
      await s.archive.save(upload(U1));
      await s.archive.save(upload(U2));
      await s.archive.keepUntil(U1, at(50));
      expect(await s.archive.withStagedFiles()).to.deep.equal([
        { uuid: U1, keepUntil: at(50) },
        { uuid: U2 },
      ]);
      await s.archive.stagedRemoved(U1);
      expect((await s.archive.find(U1))?.staged).to.equal(false);
      expect(await s.archive.withStagedFiles()).to.deep.equal([{ uuid: U2 }]);
    });

    it('results: note changes a pending target only; reopen sets error targets pending, one attempt more', async () => {
      await s.results.begin(U1, ['c1', 'c2', 'c3']);
      await s.results.note(U1, 'c3', 'queued: client c3 is not connected');
      await s.results.record({
        uuid: U1,
        client_id: 'c1',
        status: 'success',
        message: 'ok',
        filepath: '/a',
        size: 7,
        changed: true,
      });
      await s.results.record({
        uuid: U1,
        client_id: 'c2',
        status: 'error',
        message: 'EPERM',
        filepath: '',
        size: 0,
        changed: false,
      });
      await s.results.note(U1, 'c1', 'must not overwrite a final outcome');
      expect(await s.messageOf(U1, 'c3')).to.equal('queued: client c3 is not connected');
      expect(await s.messageOf(U1, 'c1')).to.equal('ok');
      expect(await s.results.reopen(U1)).to.deep.equal(['c2']);
      expect(await s.results.reopen(U1), 'c2 is pending now, not error').to.deep.equal([]);
      expect(
        await s.results.record({
          uuid: U1,
          client_id: 'c2',
          status: 'success',
          message: 'ok',
          filepath: '/a',
          size: 7,
          changed: true,
        }),
        'the retried target takes its new outcome',
      ).to.equal(true);
      expect(await s.results.reopen('unknown')).to.deep.equal([]);
    });

    if (outlivesRestart)
      it('queue and archive outlive a reopen of the storage (a restart of rportd)', async () => {
        await s.archive.save(upload(U1));
        await s.queue.enqueue({ uuid: U1, client_id: 'c1', expires_at: at(10) });
        const again = await s.reopen!();
        expect(await again.queue.all()).to.deep.equal([{ uuid: U1, client_id: 'c1', expires_at: at(10) }]);
        expect((await again.archive.find(U1))?.upload).to.deep.equal(upload(U1));
      });
  });
}
