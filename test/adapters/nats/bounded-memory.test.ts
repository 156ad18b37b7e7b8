import { expect } from 'chai';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { join } from 'node:path';
import { FsStagingStore } from '../../../src/adapters/fs/fs-staging-store.ts';
import { PublishingStagingStore } from '../../../src/adapters/nats/publishing-staging-store.ts';
import { NatsServerProcess, natsServerOrSkip } from '../../support/nats-server.ts';
import { closeNode, openNode, type TestNode } from './nats-fixture.ts';

const MiB = 1024 * 1024;
const FILE = 256 * MiB;
/** The ceiling on the test process's RSS growth: a quarter of the file, so a whole-file buffer anywhere fails. */
const CEILING = 64 * MiB;
/** An HTTP body's chunk size. */
const CHUNK = 64 * 1024;

/** Highest RSS seen: sampled at every chunk of the upload and on a timer during the fetch. */
class RssPeak {
  peak = process.memoryUsage.rss();
  sample(): void {
    this.peak = Math.max(this.peak, process.memoryUsage.rss());
  }
}

/** FILE bytes in fresh CHUNK buffers (as an HTTP body gives them), hashed as they are made. */
async function* upload(
  peak: RssPeak,
  md5: ReturnType<typeof createHash>,
  sha256: ReturnType<typeof createHash>,
) {
  const pattern = randomBytes(MiB + CHUNK);
  for (let at = 0, n = 0; at < FILE; at += CHUNK, n++) {
    const chunk = Buffer.allocUnsafe(CHUNK);
    pattern.copy(chunk, 0, (n * 4099) % MiB, ((n * 4099) % MiB) + CHUNK);
    chunk.writeUInt32BE(n, 0);
    md5.update(chunk);
    sha256.update(chunk);
    peak.sample();
    yield chunk;
  }
}

async function hashFile(path: string): Promise<{ md5: string; sha256: string }> {
  const md5 = createHash('md5');
  const sha256 = createHash('sha256');
  for await (const c of createReadStream(path, { highWaterMark: MiB })) {
    md5.update(c as Buffer);
    sha256.update(c as Buffer);
  }
  return { md5: md5.digest('hex'), sha256: sha256.digest('hex') };
}

describe('staged files through NATS: memory stays flat in file size (256 MiB, real nats-server)', function () {
  this.timeout(600_000);
  let server: NatsServerProcess;
  let a: TestNode;
  let b: TestNode;
  before(async function () {
    server = await NatsServerProcess.start(await natsServerOrSkip(this, 'the NATS bounded-memory test'));
    [a, b] = [await openNode(server, 'memory-test'), await openNode(server, 'memory-test')];
  });
  after(async () => {
    if (a) await closeNode(a);
    if (b) await closeNode(b);
    await server?.dispose();
  });

  it('put (staged and published in one pass) then a fetch on another node: RSS grows < 64 MiB, hashes equal', async () => {
    const local = new FsStagingStore(a.dir);
    await local.init();
    const store = new PublishingStagingStore(local, a.files, (id) => createReadStream(local.pathOf(id)));
    const uuid = randomUUID();
    const md5 = createHash('md5');
    const sha256 = createHash('sha256');

    const start = process.memoryUsage.rss();
    const peak = new RssPeak();
    const staged = await store.stage(uuid, upload(peak, md5, sha256), FILE);
    const ticker = setInterval(() => peak.sample(), 5);
    let copy;
    try {
      copy = await b.files.fetchToLocal(uuid);
    } finally {
      clearInterval(ticker);
    }
    peak.sample();
    const growth = peak.peak - start;
    console.log(
      `      RSS ${(start / MiB).toFixed(0)} MiB at start, peak +${(growth / MiB).toFixed(1)} MiB for 256 MiB`,
    );

    const source = { md5: md5.digest('hex'), sha256: sha256.digest('hex') };
    expect(staged).to.deep.include({ size: FILE, ...source });
    expect(copy).to.deep.include({ size: FILE, sha256: source.sha256 });
    expect(await hashFile(join(b.dir, `${uuid}_rport_filepush`))).to.deep.equal(source);
    expect(growth).to.be.below(CEILING);
  });
});
