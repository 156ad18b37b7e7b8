import { expect } from 'chai';
import {
  InMemorySharedBucket,
  InMemorySharedStagedFiles,
} from '../../src/adapters/memory/in-memory-shared-staged-files.ts';
import { InMemoryStagingStore } from '../../src/adapters/memory/in-memory-staging-store.ts';
import { sharedStagedFilesContract } from './shared-staged-files.contract.ts';

sharedStagedFilesContract('InMemorySharedStagedFiles (in-memory adapter)', async () => {
  const bucket = new InMemorySharedBucket();
  const locals = [new InMemoryStagingStore(), new InMemoryStagingStore()];
  return {
    nodes: [
      new InMemorySharedStagedFiles(bucket, locals[0]),
      new InMemorySharedStagedFiles(bucket, locals[1]),
    ],
    localCopy: async (node, uuid) => {
      const bytes = locals[node].read(`${uuid}_rport_filepush`);
      return bytes && Buffer.from(bytes);
    },
    localNames: async (node) => locals[node].names(),
    outage: async () => void (bucket.reachable = false),
    recover: async () => void (bucket.reachable = true),
    cleanup: async () => undefined,
  };
});

describe('InMemorySharedStagedFiles (beyond the contract)', () => {
  it('a node copies an object once, however often and concurrently it is asked', async () => {
    const bucket = new InMemorySharedBucket();
    const [a, b] = [
      new InMemorySharedStagedFiles(bucket, new InMemoryStagingStore()),
      new InMemorySharedStagedFiles(bucket, new InMemoryStagingStore()),
    ];
    const uuid = '6f1c0b1e-2f0a-4c59-9a53-3d1c1a6d2b7e';
    await a.put(
      uuid,
      (async function* () {
        yield Buffer.from('once');
      })(),
    );
    await Promise.all([b.fetchToLocal(uuid), b.fetchToLocal(uuid)]);
    await b.fetchToLocal(uuid);
    expect(b.copies).to.equal(1);
  });
});
