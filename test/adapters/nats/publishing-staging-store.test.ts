import { expect } from 'chai';
import { createHash, randomUUID } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { FsStagingStore } from '../../../src/adapters/fs/fs-staging-store.ts';
import { PublishingStagingStore } from '../../../src/adapters/nats/publishing-staging-store.ts';
import { SharedStagingUnavailableError } from '../../../src/ports/shared-staged-files.ts';
import { UploadTooLargeError } from '../../../src/ports/staging-store.ts';
import { NatsServerProcess, natsServerOrSkip } from '../../support/nats-server.ts';
import { closeNode, namesIn, openNode, readLocal, reconnected, type TestNode } from './nats-fixture.ts';

async function* chunks(parts: string[], onChunk?: (i: number) => Promise<void>): AsyncGenerator<Uint8Array> {
  for (let i = 0; i < parts.length; i++) {
    await onChunk?.(i);
    yield Buffer.from(parts[i]);
  }
}

const big = (n: number, c: string): string[] =>
  Array.from({ length: n }, (_, i) => `${c}${i}`.padEnd(50_000, c));
const hex = (alg: string, s: string): string => createHash(alg).update(s).digest('hex');

async function caught(p: Promise<unknown>): Promise<Error & { code?: string }> {
  return p.then(
    () => {
      throw new Error('expected a rejection');
    },
    (e: unknown) => e as Error & { code?: string },
  );
}

describe('PublishingStagingStore (FsStagingStore + NatsStagedFiles, real nats-server)', function () {
  this.timeout(60_000);
  let server: NatsServerProcess;
  let n = 0;
  let a: TestNode;
  let b: TestNode;
  let store: PublishingStagingStore;
  before(async function () {
    server = await NatsServerProcess.start(
      await natsServerOrSkip(this, 'the publishing staging store tests'),
    );
  });
  after(() => server?.dispose());
  beforeEach(async () => {
    if (!server.running) await server.resume();
    const bucket = `publish-test-${++n}`;
    [a, b] = [await openNode(server, bucket), await openNode(server, bucket)];
    const local = new FsStagingStore(a.dir);
    await local.init();
    store = new PublishingStagingStore(local, a.files, (uuid) => createReadStream(local.pathOf(uuid)));
  });
  afterEach(async () => {
    if (!server.running) await server.resume();
    await Promise.all([a, b].map(closeNode));
  });

  const objects = async (): Promise<number> =>
    (await a.link.manager.streams.info(a.link.stream)).state.messages;

  it('stages locally with md5 and sha256 as before, and another node copies the same bytes', async () => {
    const uuid = randomUUID();
    const parts = big(9, 'p');
    const staged = await store.stage(uuid, chunks(parts), 10_000_000);
    const all = parts.join('');
    expect(staged).to.deep.equal({
      uuid,
      name: `${uuid}_rport_filepush`,
      size: all.length,
      md5: hex('md5', all),
      sha256: hex('sha256', all),
    });
    expect(await readFile(join(a.dir, staged.name), 'utf8')).to.equal(all);
    expect(await b.files.fetchToLocal(uuid)).to.deep.include({ size: staged.size, sha256: staged.sha256 });
    expect((await readLocal(b, uuid))?.toString()).to.equal(all);
  });

  it('the accepting node finds its own staged file in place and fetches nothing', async () => {
    const uuid = randomUUID();
    await store.stage(uuid, chunks(['mine']), 100);
    const before = await stat(join(a.dir, `${uuid}_rport_filepush`));
    expect((await a.files.fetchToLocal(uuid)).size).to.equal(4);
    expect(await namesIn(a)).to.deep.equal([`${uuid}_rport_filepush`]);
    expect((await stat(join(a.dir, `${uuid}_rport_filepush`))).ino).to.equal(before.ino);
  });

  it('over max_filepush_size: UploadTooLargeError, nothing staged, nothing published', async () => {
    const uuid = randomUUID();
    const e = await caught(store.stage(uuid, chunks(big(20, 'x')), 300_000));
    expect(e).to.be.instanceOf(UploadTooLargeError);
    expect(await namesIn(a)).to.deep.equal([]);
    expect(await objects()).to.equal(0);
    expect((await caught(b.files.fetchToLocal(uuid))).code).to.equal('ENOENT');
  });

  it('the upload breaking off: its own error, nothing staged, nothing published', async () => {
    const broken = async (i: number): Promise<void> => {
      if (i === 6) throw new Error('client went away');
    };
    const e = await caught(store.stage(randomUUID(), chunks(big(10, 'y'), broken), 10_000_000));
    expect(e.message).to.equal('client went away');
    expect(await namesIn(a)).to.deep.equal([]);
    expect(await objects()).to.equal(0);
  });

  it('a uuid another node published: EEXIST, this node stages nothing, theirs is intact', async () => {
    const uuid = randomUUID();
    await b.files.put(uuid, chunks(['theirs']));
    expect((await caught(store.stage(uuid, chunks(big(4, 'z')), 10_000_000))).code).to.equal('EEXIST');
    expect(await namesIn(a)).to.deep.equal([]);
    await a.files.fetchToLocal(uuid);
    expect((await readLocal(a, uuid))?.toString()).to.equal('theirs');
  });

  it('NATS stopping mid-upload: the error names [cluster] nats_url, no local file is left', async () => {
    const uuid = randomUUID();
    const stopAt = async (i: number): Promise<void> => {
      if (i === 5) await server.stop();
    };
    const e = await caught(store.stage(uuid, chunks(big(12, 'w'), stopAt), 10_000_000));
    expect(e).to.be.instanceOf(SharedStagingUnavailableError);
    expect(e.message).to.include('[cluster] nats_url');
    expect(await namesIn(a)).to.deep.equal([]);
    const back = reconnected(b.link.connection);
    await server.resume();
    await back;
    expect((await caught(b.files.fetchToLocal(uuid))).code).to.equal('ENOENT');
  });

  it('remove leaves the object while targets on other nodes still need it, then removes it', async () => {
    const uuid = randomUUID();
    let needed = true;
    const local = new FsStagingStore(a.dir);
    const cluster = new PublishingStagingStore(
      local,
      a.files,
      (u) => createReadStream(local.pathOf(u)),
      async (u) => u === uuid && needed,
    );
    await cluster.stage(uuid, chunks(big(3, 'n')), 1 << 20);
    await cluster.remove(uuid);
    expect(await namesIn(a), 'the local file goes').to.deep.equal([]);
    expect((await b.files.fetchToLocal(uuid)).size, 'the object stays').to.equal(150_000);
    needed = false;
    await cluster.remove(uuid);
    expect(await objects()).to.equal(0);
  });

  it('rename publishes under the new uuid and unpublishes the old one', async () => {
    const [first, chosen] = [randomUUID(), randomUUID()];
    const staged = await store.stage(first, chunks(['renamed ', 'bytes']), 100);
    const moved = await store.rename(staged, chosen);
    expect(moved).to.deep.equal({ ...staged, uuid: chosen, name: `${chosen}_rport_filepush` });
    expect(await namesIn(a)).to.deep.equal([moved.name]);
    expect((await caught(b.files.fetchToLocal(first))).code).to.equal('ENOENT');
    expect((await b.files.fetchToLocal(chosen)).sha256).to.equal(staged.sha256);
    expect((await readLocal(b, chosen))?.toString()).to.equal('renamed bytes');
  });

  it('rename to a uuid another node published: EEXIST, the file stays staged and published as before', async () => {
    const [first, taken] = [randomUUID(), randomUUID()];
    await b.files.put(taken, chunks(['theirs']));
    const staged = await store.stage(first, chunks(['ours']), 100);
    expect((await caught(store.rename(staged, taken))).code).to.equal('EEXIST');
    expect(await namesIn(a)).to.deep.equal([staged.name]);
    await b.files.fetchToLocal(first);
    expect((await readLocal(b, first))?.toString()).to.equal('ours');
    await a.files.fetchToLocal(taken);
    expect((await readLocal(a, taken))?.toString()).to.equal('theirs');
  });

  it('remove unpublishes and removes the local file; sweep leaves the bucket to the cluster', async () => {
    const [gone, kept] = [randomUUID(), randomUUID()];
    await store.stage(gone, chunks(['a']), 100);
    await store.stage(kept, chunks(['b']), 100);
    await store.remove(gone);
    await store.remove(gone);
    expect((await caught(b.files.fetchToLocal(gone))).code).to.equal('ENOENT');
    expect(await store.sweep()).to.equal(1);
    expect(await namesIn(a)).to.deep.equal([]);
    await b.files.fetchToLocal(kept);
    expect((await readLocal(b, kept))?.toString()).to.equal('b');
  });
});
