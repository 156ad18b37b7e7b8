import { lstat } from 'node:fs/promises';
import { join } from 'node:path';
import type { ObjectInfo } from '@nats-io/obj';
import { stagedName } from '../../domain/push-request.ts';
import type {
  LocalStagedCopy,
  SharedStagedFiles,
  SharedStagedObject,
} from '../../ports/shared-staged-files.ts';
import { writeLocalCopy } from './local-copy.ts';
import { codedError, natsFailure } from './nats-errors.ts';
import type { NatsLink } from './nats-link.ts';
import { objectChunks, sha256Hex } from './object-chunks.ts';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Staged uploads in a JetStream object store bucket, named by their uuid, with local copies in this
 * node's staging folder (`{data_dir}/filepush/`, FsStagingStore's). Everything streams: a put holds
 * one chunk at a time, a fetch one chunk plus the staging writer's batches.
 */
export class NatsStagedFiles implements SharedStagedFiles {
  /** Fetches under way, by uuid: a second caller waits for the first one's copy. */
  private readonly fetching = new Map<string, Promise<LocalStagedCopy>>();

  constructor(
    private readonly link: NatsLink,
    /** This node's staging folder. */
    private readonly localDir: string,
  ) {}

  async put(uuid: string, content: AsyncIterable<Uint8Array>): Promise<SharedStagedObject> {
    checkUuid(uuid);
    const previous = await this.info(uuid, 'publish');
    if (previous && !previous.deleted)
      throw codedError('EEXIST', `staged files: ${uuid} is published already`);
    const it = content[Symbol.asyncIterator]();
    let info: ObjectInfo;
    try {
      // Conditional on the name's last metadata: of two nodes publishing one uuid, the second fails.
      info = await this.link.store.put({ name: uuid }, pulledStream(it), {
        previousRevision: previous?.revision ?? 0,
      });
    } catch (e) {
      // The store stops reading without telling the source: release it (a no-op once it failed itself).
      await it.return?.().catch(() => undefined);
      throw natsFailure(e, this.link.url, `publish ${uuid}`);
    }
    return { uuid, size: info.size, sha256: sha256Hex(info) };
  }

  fetchToLocal(uuid: string): Promise<LocalStagedCopy> {
    checkUuid(uuid);
    let fetch = this.fetching.get(uuid);
    if (!fetch) {
      fetch = this.fetch(uuid).finally(() => this.fetching.delete(uuid));
      this.fetching.set(uuid, fetch);
    }
    return fetch;
  }

  async remove(uuid: string): Promise<void> {
    checkUuid(uuid);
    const info = await this.info(uuid, 'remove');
    if (!info) return;
    try {
      // Chunks first: should this stop half way, the metadata is still there for the next remove.
      await this.link.manager.streams.purge(this.link.stream, { filter: this.link.chunkSubject(info.nuid) });
      // The metadata too, not only a "deleted" marker: a bucket that served a million uploads keeps none.
      await this.link.manager.streams.purge(this.link.stream, { filter: this.link.metaSubject(uuid) });
    } catch (e) {
      throw natsFailure(e, this.link.url, `remove ${uuid}`);
    }
  }

  private async fetch(uuid: string): Promise<LocalStagedCopy> {
    const info = await this.info(uuid, 'fetch');
    if (!info || info.deleted) throw codedError('ENOENT', `staged files: no shared object ${uuid}`);
    const copy: LocalStagedCopy = { uuid, name: stagedName(uuid), size: info.size, sha256: sha256Hex(info) };
    // A complete copy may be here already: this node accepted the upload, or fetched it before.
    if (await this.isComplete(uuid, info.size)) return copy;
    await writeLocalCopy(this.localDir, uuid, objectChunks(this.link, info), copy);
    return copy;
  }

  /**
   * Whether the staged name holds a regular file of the object's size. Only complete files carry that
   * name (fetches rename into it; the accepting node's own upload is there once it was published).
   */
  private async isComplete(uuid: string, size: number): Promise<boolean> {
    try {
      const st = await lstat(join(this.localDir, stagedName(uuid)));
      return st.isFile() && st.size === size;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return false;
      throw e;
    }
  }

  private async info(uuid: string, doing: string): Promise<ObjectInfo | null> {
    try {
      return await this.link.store.info(uuid);
    } catch (e) {
      throw natsFailure(e, this.link.url, `${doing} ${uuid}`);
    }
  }
}

function checkUuid(uuid: string): void {
  if (!UUID.test(uuid)) throw new Error(`staged files: "${uuid}" is not a server-generated uuid`);
}

/**
 * A source as a web stream that reads the next chunk only when the object store asks for it (no
 * read-ahead queue): the put then goes at the pace of JetStream's acknowledgements.
 */
function pulledStream(it: AsyncIterator<Uint8Array>): ReadableStream<Uint8Array> {
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        const next = await it.next();
        if (next.done) controller.close();
        else controller.enqueue(next.value);
      },
      async cancel() {
        await it.return?.();
      },
    },
    { highWaterMark: 0 },
  );
}
