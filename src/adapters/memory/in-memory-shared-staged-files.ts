import { createHash } from 'node:crypto';
import { stagedName } from '../../domain/push-request.ts';
import {
  SharedStagingUnavailableError,
  type LocalStagedCopy,
  type SharedStagedFiles,
  type SharedStagedObject,
} from '../../ports/shared-staged-files.ts';
import { errnoError } from './errno-error.ts';
import type { InMemoryStagingStore } from './in-memory-staging-store.ts';

interface StoredObject extends SharedStagedObject {
  chunks: Uint8Array[];
}

/** The store every fake node of one cluster shares; `reachable = false` is an outage. */
export class InMemorySharedBucket {
  readonly objects = new Map<string, StoredObject>();
  reachable = true;
}

/**
 * One node's view of the shared staged files: objects in the shared InMemorySharedBucket, local
 * copies in this node's InMemoryStagingStore. Like the real store, a failed put stores nothing and
 * concurrent fetches of one uuid share one copy.
 */
export class InMemorySharedStagedFiles implements SharedStagedFiles {
  private readonly fetching = new Map<string, Promise<LocalStagedCopy>>();
  /** How many copies this node made: what "fetched once" is checked against. */
  copies = 0;

  constructor(
    private readonly bucket: InMemorySharedBucket,
    private readonly local: InMemoryStagingStore,
  ) {}

  async put(uuid: string, content: AsyncIterable<Uint8Array>): Promise<SharedStagedObject> {
    this.reach(`publish ${uuid}`);
    if (this.bucket.objects.has(uuid))
      throw errnoError('EEXIST', `staged files: ${uuid} is published already`);
    const sha256 = createHash('sha256');
    const chunks: Uint8Array[] = [];
    let size = 0;
    for await (const chunk of content) {
      this.reach(`publish ${uuid}`);
      chunks.push(Uint8Array.from(chunk));
      sha256.update(chunk);
      size += chunk.byteLength;
    }
    // Another node may have published the same uuid while this one streamed: the first one wins.
    if (this.bucket.objects.has(uuid))
      throw errnoError('EEXIST', `staged files: ${uuid} is published already`);
    const object = { uuid, size, sha256: sha256.digest('hex') };
    this.bucket.objects.set(uuid, { ...object, chunks });
    return object;
  }

  fetchToLocal(uuid: string): Promise<LocalStagedCopy> {
    let fetch = this.fetching.get(uuid);
    if (!fetch) {
      fetch = this.fetch(uuid).finally(() => this.fetching.delete(uuid));
      this.fetching.set(uuid, fetch);
    }
    return fetch;
  }

  async remove(uuid: string): Promise<void> {
    this.reach(`remove ${uuid}`);
    this.bucket.objects.delete(uuid);
  }

  private async fetch(uuid: string): Promise<LocalStagedCopy> {
    this.reach(`fetch ${uuid}`);
    const object = this.bucket.objects.get(uuid);
    if (!object) throw errnoError('ENOENT', `staged files: no shared object ${uuid}`);
    const copy = { uuid, name: stagedName(uuid), size: object.size, sha256: object.sha256 };
    if (this.local.read(copy.name)?.byteLength === object.size) return copy;
    this.copies++;
    await this.local.stage(
      uuid,
      chunksOf(object, () => this.reach(`fetch ${uuid}`)),
      Infinity,
    );
    return copy;
  }

  private reach(doing: string): void {
    if (!this.bucket.reachable)
      throw new SharedStagingUnavailableError(
        `staged files: cannot ${doing}: the shared store is unreachable`,
      );
  }
}

/** The object's chunks one by one, checking the store is still reachable before each. */
async function* chunksOf(object: StoredObject, reach: () => void): AsyncGenerator<Uint8Array> {
  for (const chunk of object.chunks) {
    reach();
    yield chunk;
  }
}
