import { expect } from 'chai';
import { randomUUID } from 'node:crypto';
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { NatsLink } from '../../../src/adapters/nats/nats-link.ts';
import { SharedStagingUnavailableError } from '../../../src/ports/shared-staged-files.ts';
import { NatsServerProcess, natsServerOrSkip } from '../../support/nats-server.ts';
import { sharedStagedFilesContract } from '../../ports/shared-staged-files.contract.ts';
import { closeNode, namesIn, openNode, readLocal, reconnected, type TestNode } from './nats-fixture.ts';

async function* bytes(...parts: string[]): AsyncGenerator<Uint8Array> {
  for (const p of parts) yield Buffer.from(p);
}

describe('NatsStagedFiles (real nats-server with JetStream on loopback)', function () {
  this.timeout(60_000);
  let server: NatsServerProcess;
  let bucketNo = 0;
  before(async function () {
    server = await NatsServerProcess.start(await natsServerOrSkip(this, 'the NATS staged-files tests'));
  });
  after(() => server?.dispose());
  const bucket = (): string => `staged-test-${++bucketNo}`;

  sharedStagedFilesContract('NatsStagedFiles', async () => {
    if (!server.running) await server.resume();
    const name = bucket();
    const nodes = [await openNode(server, name), await openNode(server, name)];
    return {
      nodes: [nodes[0].files, nodes[1].files],
      localCopy: (i, uuid) => readLocal(nodes[i], uuid),
      localNames: (i) => namesIn(nodes[i]),
      outage: () => server.stop(),
      recover: async () => {
        const back = nodes.map((n) => reconnected(n.link.connection));
        await server.resume();
        await Promise.all(back);
      },
      cleanup: async () => {
        await Promise.all(nodes.map(closeNode));
      },
    };
  });

  describe('beyond the contract', () => {
    let a: TestNode;
    let b: TestNode;
    beforeEach(async () => {
      if (!server.running) await server.resume();
      const name = bucket();
      [a, b] = [await openNode(server, name), await openNode(server, name)];
    });
    afterEach(async () => {
      await Promise.all([a, b].map(closeNode));
    });

    it('the local copy is 0600, complete under its staged name; a later fetch leaves that file alone', async () => {
      const uuid = randomUUID();
      await a.files.put(uuid, bytes('hello ', 'cluster'));
      await b.files.fetchToLocal(uuid);
      const path = join(b.dir, `${uuid}_rport_filepush`);
      const first = await stat(path);
      expect(first.mode & 0o777).to.equal(0o600);
      await b.files.fetchToLocal(uuid);
      expect((await stat(path)).ino).to.equal(first.ino);
      expect((await readLocal(b, uuid))?.toString()).to.equal('hello cluster');
    });

    it('remove leaves the bucket empty: no chunks, no metadata, no deletion marker', async () => {
      const uuid = randomUUID();
      await a.files.put(uuid, bytes('x'.repeat(300_000)));
      await b.files.remove(uuid);
      const info = await a.link.manager.streams.info(a.link.stream);
      expect(info.state.messages).to.equal(0);
    });

    it('a uuid that is not one is refused before NATS is asked', async () => {
      let error: unknown;
      await a.files.put('../etc/passwd', bytes('x')).catch((e: unknown) => (error = e));
      expect((error as Error).message).to.match(/not a server-generated uuid/);
    });

    it('NATS down: errors name [cluster] nats_url and the url; no local file is left', async () => {
      const uuid = randomUUID();
      await a.files.put(uuid, bytes('kept'));
      await server.stop();
      const errors: unknown[] = [];
      await b.files.fetchToLocal(uuid).catch((e: unknown) => errors.push(e));
      await a.files.put(randomUUID(), bytes('new')).catch((e: unknown) => errors.push(e));
      expect(errors).to.have.length(2);
      for (const e of errors) {
        expect(e).to.be.instanceOf(SharedStagingUnavailableError);
        expect((e as Error).message)
          .to.include('[cluster] nats_url')
          .and.include(server.url);
      }
      expect(await namesIn(b)).to.deep.equal([]);
    });

    it('opening a link to a NATS that is not there fails at once, naming [cluster] nats_url', async () => {
      let error: unknown;
      await NatsLink.open({ url: 'nats://127.0.0.1:1', requestTimeoutMs: 1_000 }).catch(
        (e: unknown) => (error = e),
      );
      expect(error).to.be.instanceOf(SharedStagingUnavailableError);
      expect((error as Error).message)
        .to.match(/\[cluster\] nats_url/)
        .and.match(/nats:\/\/127\.0\.0\.1:1\b/);
    });
  });
});
