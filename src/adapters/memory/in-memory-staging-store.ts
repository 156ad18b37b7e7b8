import { createHash } from 'node:crypto';
import { stagedName } from '../../domain/push-request.ts';
import { errnoError } from './errno-error.ts';
import { UploadTooLargeError, type StagedFile, type StagingStore } from '../../ports/staging-store.ts';

interface Entry {
  file?: StagedFile;
  chunks: Uint8Array[];
}

/** Staged uploads in a Map. A partial file is visible while it streams in, like on disk. */
export class InMemoryStagingStore implements StagingStore {
  private readonly entries = new Map<string, Entry>();

  async stage(uuid: string, content: AsyncIterable<Uint8Array>, maxBytes: number): Promise<StagedFile> {
    if (this.entries.has(uuid)) throw errnoError('EEXIST', `staged file ${stagedName(uuid)} already exists`);
    const entry: Entry = { chunks: [] };
    this.entries.set(uuid, entry);
    const md5 = createHash('md5');
    const sha256 = createHash('sha256');
    let size = 0;
    try {
      for await (const chunk of content) {
        size += chunk.byteLength;
        // Checked per chunk so an over-limit upload stops as soon as it crosses the limit.
        if (size > maxBytes) throw new UploadTooLargeError(maxBytes);
        entry.chunks.push(Uint8Array.from(chunk));
        md5.update(chunk);
        sha256.update(chunk);
      }
    } catch (e) {
      this.entries.delete(uuid);
      throw e;
    }
    entry.file = { uuid, name: stagedName(uuid), size, md5: md5.digest('hex'), sha256: sha256.digest('hex') };
    return entry.file;
  }

  async rename(file: StagedFile, uuid: string): Promise<StagedFile> {
    const entry = this.entries.get(file.uuid);
    if (!entry?.file) throw errnoError('ENOENT', `no staged file ${file.name}`);
    if (this.entries.has(uuid)) throw errnoError('EEXIST', `staged file ${stagedName(uuid)} already exists`);
    entry.file = { ...entry.file, uuid, name: stagedName(uuid) };
    this.entries.delete(file.uuid);
    this.entries.set(uuid, entry);
    return entry.file;
  }

  async remove(uuid: string): Promise<void> {
    this.entries.delete(uuid);
  }

  async sweep(keep: ReadonlySet<string> = new Set()): Promise<number> {
    const stale = [...this.entries.keys()].filter((uuid) => !keep.has(uuid));
    for (const uuid of stale) this.entries.delete(uuid);
    return stale.length;
  }

  /** The complete bytes of a staged file by its staged name; undefined while partial or when absent. */
  read(name: string): Uint8Array | undefined {
    for (const e of this.entries.values()) if (e.file?.name === name) return Buffer.concat(e.chunks);
    return undefined;
  }

  /** Staged names present now, partial ones included. */
  names(): string[] {
    return [...this.entries.keys()].map(stagedName);
  }
}
