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
