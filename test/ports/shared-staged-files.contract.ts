import { expect } from 'chai';
import { createHash, randomUUID } from 'node:crypto';
import type { SharedStagedFiles } from '../../src/ports/shared-staged-files.ts';

export interface SharedStagedFilesFixture {
  /** Two nodes of one cluster, each with its own local staging folder. */
  nodes: [SharedStagedFiles, SharedStagedFiles];
  /** The complete local copy on node i (its staged name), or undefined. */
  localCopy(node: number, uuid: string): Promise<Buffer | undefined>;
  /** Every name in node i's staging folder, partial and temp files included. */
  localNames(node: number): Promise<string[]>;
  /** The shared store goes out of reach (its server stopped), then comes back with its content. */
  outage(): Promise<void>;
  recover(): Promise<void>;
  cleanup(): Promise<void>;
}

/** Odd-sized chunks that cross any chunking the store does, and their concatenation. */
function content(bytes: number, seed: number): { chunks: Buffer[]; all: Buffer } {
  const all = Buffer.alloc(bytes);
  for (let i = 0; i < bytes; i++) all[i] = (i * 31 + seed * 7 + (i >> 9)) & 0xff;
  const chunks: Buffer[] = [];
  for (let at = 0, n = 1; at < bytes; at += n, n = (n * 7 + 4093) % 70_001)
    chunks.push(all.subarray(at, at + n));
  return { chunks, all };
}

async function* iterate(chunks: Buffer[], failAfter?: number): AsyncGenerator<Uint8Array> {
  for (let i = 0; i < chunks.length; i++) {
    if (i === failAfter) throw new Error('the upload broke off');
    yield Buffer.from(chunks[i]);
  }
}

const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

async function rejection(p: Promise<unknown>): Promise<Error & { code?: string }> {
  try {
    await p;
  } catch (e) {
    return e as Error & { code?: string };
  }
  throw new Error('expected a rejection');
}

/** The SharedStagedFiles port's behaviour, which the NATS adapter and the in-memory one must share. */
export function sharedStagedFilesContract(
  name: string,
  factory: () => Promise<SharedStagedFilesFixture>,
): void {
  describe(`SharedStagedFiles contract: ${name}`, () => {
    let fx: SharedStagedFilesFixture;
    let a: SharedStagedFiles;
    let b: SharedStagedFiles;
    beforeEach(async () => {
      fx = await factory();
      [a, b] = fx.nodes;
    });
    afterEach(() => fx.cleanup());

    it('an object put on one node is copied whole to another, with the size and sha256 of the source', async () => {
      const uuid = randomUUID();
      const { chunks, all } = content(600_000, 1);
      const put = await a.put(uuid, iterate(chunks));
      expect(put).to.deep.equal({ uuid, size: all.length, sha256: sha256(all) });
      const copy = await b.fetchToLocal(uuid);
      expect(copy).to.deep.equal({ ...put, name: `${uuid}_rport_filepush` });
      expect((await fx.localCopy(1, uuid))?.equals(all)).to.equal(true);
      expect(await fx.localNames(1)).to.deep.equal([`${uuid}_rport_filepush`]);
    });

    it('an empty file round-trips', async () => {
      const uuid = randomUUID();
      expect((await a.put(uuid, iterate([]))).size).to.equal(0);
      expect((await b.fetchToLocal(uuid)).sha256).to.equal(sha256(Buffer.alloc(0)));
      expect((await fx.localCopy(1, uuid))?.length).to.equal(0);
    });

    it('concurrent fetches of one uuid share one copy; a later one finds it in place', async () => {
      const uuid = randomUUID();
      const { chunks, all } = content(300_000, 2);
      await a.put(uuid, iterate(chunks));
      const [x, y] = await Promise.all([b.fetchToLocal(uuid), b.fetchToLocal(uuid)]);
      expect(x).to.equal(y);
      expect(await b.fetchToLocal(uuid)).to.deep.equal(x);
      expect((await fx.localCopy(1, uuid))?.equals(all)).to.equal(true);
      expect(await fx.localNames(1)).to.deep.equal([`${uuid}_rport_filepush`]);
    });

    it('a second put of a published uuid fails with EEXIST and leaves the first intact', async () => {
      const uuid = randomUUID();
      const first = content(200_000, 3);
      await a.put(uuid, iterate(first.chunks));
      const e = await rejection(b.put(uuid, iterate(content(1000, 4).chunks)));
      expect(e.code).to.equal('EEXIST');
      await b.fetchToLocal(uuid);
      expect((await fx.localCopy(1, uuid))?.equals(first.all)).to.equal(true);
    });

    it('of two nodes putting one uuid at once, exactly one wins and its bytes are served', async () => {
      const uuid = randomUUID();
      const [x, y] = [content(400_000, 5), content(400_000, 6)];
      const results = await Promise.allSettled([
        a.put(uuid, iterate(x.chunks)),
        b.put(uuid, iterate(y.chunks)),
      ]);
      const won = results.findIndex((r) => r.status === 'fulfilled');
      expect(results.map((r) => r.status).sort()).to.deep.equal(['fulfilled', 'rejected']);
      expect(((results[1 - won] as PromiseRejectedResult).reason as { code?: string }).code).to.equal(
        'EEXIST',
      );
      await b.fetchToLocal(uuid);
      expect((await fx.localCopy(1, uuid))?.equals([x, y][won].all)).to.equal(true);
    });

    it('a put whose content fails stores nothing: the error goes on, the uuid stays free', async () => {
      const uuid = randomUUID();
      const { chunks } = content(500_000, 7);
      const e = await rejection(a.put(uuid, iterate(chunks, 5)));
      expect(e.message).to.equal('the upload broke off');
      expect((await rejection(b.fetchToLocal(uuid))).code).to.equal('ENOENT');
      const retry = content(1000, 8);
      expect((await a.put(uuid, iterate(retry.chunks))).sha256).to.equal(sha256(retry.all));
    });

    it('fetching an unknown uuid fails with ENOENT and leaves no local file', async () => {
      const e = await rejection(b.fetchToLocal(randomUUID()));
      expect(e.code).to.equal('ENOENT');
      expect(await fx.localNames(1)).to.deep.equal([]);
    });

    it('remove is idempotent and leaves the local copies to their nodes', async () => {
      const uuid = randomUUID();
      const { chunks, all } = content(1000, 9);
      await a.put(uuid, iterate(chunks));
      await b.fetchToLocal(uuid);
      await a.remove(uuid);
      await b.remove(uuid);
      await a.remove(randomUUID());
      expect((await rejection(a.fetchToLocal(uuid))).code).to.equal('ENOENT');
      expect((await fx.localCopy(1, uuid))?.equals(all)).to.equal(true);
    });

    it('while the store is out of reach every call fails with ESHAREDSTAGING, nothing half made; then it recovers', async () => {
      const kept = randomUUID();
      const { chunks, all } = content(300_000, 10);
      await a.put(kept, iterate(chunks));
      await fx.outage();
      const uuid = randomUUID();
      expect((await rejection(a.put(uuid, iterate(chunks)))).code).to.equal('ESHAREDSTAGING');
      expect((await rejection(b.fetchToLocal(kept))).code).to.equal('ESHAREDSTAGING');
      expect((await rejection(a.remove(kept))).code).to.equal('ESHAREDSTAGING');
      expect(await fx.localNames(1)).to.deep.equal([]);
      await fx.recover();
      await b.fetchToLocal(kept);
      expect((await fx.localCopy(1, kept))?.equals(all)).to.equal(true);
      expect((await rejection(b.fetchToLocal(uuid))).code).to.equal('ENOENT');
    });
  });
}
