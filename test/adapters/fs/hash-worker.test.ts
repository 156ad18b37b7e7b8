import { expect } from 'chai';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, open, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FsLocalFiles } from '../../../src/adapters/fs/fs-local-files.ts';
import { HASH_THREAD_FAILED, HashWorker, type WorkerHashJob } from '../../../src/adapters/fs/hash-worker.ts';
import { HashingWriter, WRITE_BATCH, type BatchHasher } from '../../../src/adapters/fs/hashing-writer.ts';
import { failure } from './agent-fixture.ts';

const md5Of = (b: Uint8Array): string => createHash('md5').update(b).digest('hex');

/** Yields data in SFTP-sized chunks through one reused buffer, as SftpFileSource lends its READ buffers. */
async function* lent(
  data: Buffer,
  chunk = 254 * 1024,
  after?: (index: number) => Promise<void> | void,
): AsyncIterable<Uint8Array> {
  const buf = Buffer.alloc(chunk);
  for (let at = 0, i = 0; at < data.length; at += chunk, i++) {
    const n = data.copy(buf, 0, at, Math.min(data.length, at + chunk));
    yield buf.subarray(0, n);
    buf.fill(0xee); // the lender reuses it: the writer and the thread must not see this
    await after?.(i);
  }
}

describe('HashWorker (md5 on a thread of its own, fed the batch buffers without a copy)', () => {
  let root: string;
  let worker: HashWorker;
  const unhandled: unknown[] = [];
  const onUnhandled = (e: unknown): number => unhandled.push(e);
  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'rport-hash-worker-'));
    worker = new HashWorker();
    unhandled.length = 0;
    process.on('unhandledRejection', onUnhandled);
  });
  afterEach(async () => {
    await worker.stop();
    await new Promise((r) => setImmediate(r));
    process.off('unhandledRejection', onUnhandled);
    await rm(root, { recursive: true, force: true });
    expect(unhandled, 'unhandled rejections').to.deep.equal([]);
  });

  it('writeTemp past one batch: the exact bytes in order and their md5 come through the thread, from lent chunks', async () => {
    const files = new FsLocalFiles({ dataDir: root, hashWorker: worker });
    const data = randomBytes(3 * WRITE_BATCH + 12_345);
    const t = await files.writeTemp('w_rport_filepush', lent(data));
    expect(worker.started).to.equal(1);
    expect(t.size).to.equal(data.length);
    expect(t.md5).to.equal(md5Of(data));
    expect((await readFile(t.path)).equals(data)).to.equal(true);
  });

  it('a push that fits in one batch (up to exactly WRITE_BATCH bytes) is hashed in place and starts no thread; an empty one too', async () => {
    const files = new FsLocalFiles({ dataDir: root, hashWorker: worker });
    for (const [name, size] of [
      ['one_rport_filepush', WRITE_BATCH],
      ['small_rport_filepush', 1000],
      ['empty_rport_filepush', 0],
    ] as const) {
      const data = randomBytes(size);
      const t = await files.writeTemp(name, lent(data));
      expect(t.md5, name).to.equal(md5Of(data));
      expect((await readFile(t.path)).equals(data), name).to.equal(true);
    }
    expect(worker.started).to.equal(0);
    expect(worker.running).to.equal(false);
  });

  it('concurrent writes share one thread and each gets its own md5', async () => {
    const files = new FsLocalFiles({ dataDir: root, hashWorker: worker });
    const datas = [
      randomBytes(2 * WRITE_BATCH + 1),
      randomBytes(5 * WRITE_BATCH - 3),
      randomBytes(3 * WRITE_BATCH),
    ];
    const temps = await Promise.all(
      datas.map((d, i) => files.writeTemp(`c${i}_rport_filepush`, lent(d, 100_000))),
    );
    expect(worker.started).to.equal(1);
    temps.forEach((t, i) => expect(t.md5, `write ${i}`).to.equal(md5Of(datas[i])));
    for (const [i, t] of temps.entries())
      expect((await readFile(t.path)).equals(datas[i]), `file ${i}`).to.equal(true);
  });

  it('an idle thread ends (the process does not carry it), and the next large write starts a new one', async () => {
    worker = new HashWorker(30);
    const files = new FsLocalFiles({ dataDir: root, hashWorker: worker });
    const data = randomBytes(2 * WRITE_BATCH + 5);
    await files.writeTemp('i1_rport_filepush', lent(data));
    // started, not running: the 30 ms idle bound may already have passed during the temp file's fsync on a busy machine.
    expect(worker.started).to.equal(1);
    for (let i = 0; i < 100 && worker.running; i++) await new Promise((r) => setTimeout(r, 20));
    expect(worker.running, 'still running after 2 s idle').to.equal(false);
    const t = await files.writeTemp('i2_rport_filepush', lent(data));
    expect(t.md5).to.equal(md5Of(data));
    expect(worker.started).to.equal(2);
  });

  it('the thread stopping mid-transfer fails writeTemp naming the temp file and the thread, leaves no temp file, and the next write works', async () => {
    const files = new FsLocalFiles({ dataDir: root, hashWorker: worker });
    const data = randomBytes(8 * WRITE_BATCH);
    const e = await failure(
      files.writeTemp(
        's_rport_filepush',
        lent(data, 254 * 1024, (i) => (i === 9 ? worker.stop() : undefined)),
      ),
    );
    expect(e.code).to.equal(HASH_THREAD_FAILED);
    expect(e.message).to.contain(join(root, 'filepush/s_rport_filepush'));
    expect(e.message).to.contain('the hashing thread was stopped');
    expect(await readdir(join(root, 'filepush'))).to.deep.equal([]);
    const t = await files.writeTemp('s2_rport_filepush', lent(data));
    expect(t.md5).to.equal(md5Of(data));
    expect(worker.started).to.equal(2);
  });

  it('a thread that crashes (an exception inside it) fails every job in it with its reason; writeTemp leaves no temp file', async () => {
    // A digest the thread cannot make throws inside the worker: a real uncaught error there.
    class Crashing extends HashWorker {
      override job(): WorkerHashJob {
        return super.job(['md5', 'no-such-digest']);
      }
    }
    worker = new Crashing();
    const files = new FsLocalFiles({ dataDir: root, hashWorker: worker });
    const e = await failure(files.writeTemp('x_rport_filepush', lent(randomBytes(3 * WRITE_BATCH))));
    expect(e.code).to.equal(HASH_THREAD_FAILED);
    expect(e.message).to.match(
      /cannot write temp file .*x_rport_filepush: the hashing thread failed: .*[Dd]igest/,
    );
    expect(await readdir(join(root, 'filepush'))).to.deep.equal([]);
    expect(worker.running).to.equal(false);
  });

  it("a finished job's batch buffers serve the next job (no fresh shared memory per file); a dropped job's are not reused", async () => {
    const files = new FsLocalFiles({ dataDir: root, hashWorker: worker });
    const taken: SharedArrayBuffer[] = [];
    const take = worker.spare.take.bind(worker.spare);
    worker.spare.take = (size: number) => {
      const b = take(size);
      taken.push(b.buffer as SharedArrayBuffer);
      return b;
    };
    const [a, b] = [randomBytes(2 * WRITE_BATCH + 7), randomBytes(WRITE_BATCH + 99)];
    const ta = await files.writeTemp('s1_rport_filepush', lent(a));
    const tb = await files.writeTemp('s2_rport_filepush', lent(b));
    expect([ta.md5, tb.md5]).to.deep.equal([md5Of(a), md5Of(b)]);
    expect((await readFile(tb.path)).equals(b), 'the second file is its own bytes').to.equal(true);
    expect(taken).to.have.length(4);
    // Identity, not deep equality: every shared buffer of a size looks alike to deep-eql.
    const [first, second] = [taken.slice(0, 2), taken.slice(2)];
    expect(first[0] === first[1], 'the first job took two buffers').to.equal(false);
    expect(
      second.every((x) => first.includes(x)),
      "the second job got the first job's two buffers",
    ).to.equal(true);

    const dropped = worker.job(['md5']);
    const kept = dropped.allocate(WRITE_BATCH);
    dropped.dispose();
    expect(worker.spare.take(WRITE_BATCH), "a dropped job's buffer stays out of the spares").to.not.equal(
      kept,
    );
  });

  it('a job fed a buffer it did not allocate is refused, not hashed from the wrong memory', async () => {
    const job = worker.job(['md5']);
    job.allocate(1024);
    const e = await failure(job.update(Buffer.alloc(1024), false));
    expect(e.message).to.contain('not one of the buffers this job allocated');
  });
});

describe('HashingWriter with a BatchHasher', () => {
  let root: string;
  beforeEach(async () => (root = await mkdtemp(join(tmpdir(), 'rport-batch-hasher-'))));
  afterEach(() => rm(root, { recursive: true, force: true }));

  for (const count of [2, 3])
    it(`never refills a batch before its hash settles, and marks only the final batch as last (${count} batch buffers)`, async () => {
      const seen: Buffer[] = [];
      const lasts: boolean[] = [];
      // A slow hasher that reads the batch only after a delay: a refill in the meantime would show.
      const slow: BatchHasher = {
        allocate: (n) => Buffer.alloc(n),
        update: async (batch, last) => {
          lasts.push(last);
          await new Promise((r) => setTimeout(r, 5));
          seen.push(Buffer.from(batch));
        },
      };
      const data = randomBytes(5 * 4096 + 100);
      const path = join(root, 'out');
      const file = await open(path, 'wx');
      const writer = new HashingWriter(file, slow, 4096, count);
      for await (const chunk of lent(data, 1500)) await writer.add(chunk);
      await writer.finish();
      await file.close();
      expect(Buffer.concat(seen).equals(data)).to.equal(true);
      expect(lasts).to.deep.equal([false, false, false, false, false, true]);
      expect((await readFile(path)).equals(data)).to.equal(true);
    });

  it('a failing hash fails finish (after the write in flight settles), and abandon settles', async () => {
    const failing: BatchHasher = {
      allocate: (n) => Buffer.alloc(n),
      update: () => Promise.reject(new Error('hash broke')),
    };
    const path = join(root, 'out');
    const file = await open(path, 'wx');
    const writer = new HashingWriter(file, failing, 1024);
    const e = await failure(
      (async () => {
        for (let i = 0; i < 4; i++) await writer.add(Buffer.alloc(1024, i));
        await writer.finish();
      })(),
    );
    await writer.abandon();
    await file.close();
    expect(e.message).to.equal('hash broke');
  });
});
