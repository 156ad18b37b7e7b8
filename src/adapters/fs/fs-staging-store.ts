import { createHash } from 'node:crypto';
import { mkdir, open, readdir, rm, chmod, link } from 'node:fs/promises';
import { constants } from 'node:fs';
import { join } from 'node:path';
import { GatheringWriter } from './gathering-writer.ts';
import { STAGED_SUFFIX, stagedName } from '../../domain/push-request.ts';
import { UploadTooLargeError, type StagedFile, type StagingStore } from '../../ports/staging-store.ts';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Staged uploads in `{data_dir}/filepush/<uuid>_rport_filepush`: directory 0700, files 0600, opened
 * exclusively and without following links. md5 and sha256 are computed in the same pass as the write,
 * overlapping it (GatheringWriter).
 */
export class FsStagingStore implements StagingStore {
  constructor(readonly dir: string) {}

  /** Creates the directory (0700) if needed; an existing one is tightened to 0700. */
  async init(): Promise<void> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    await chmod(this.dir, 0o700);
  }

  pathOf(uuid: string): string {
    if (!UUID.test(uuid)) throw new Error(`staging: "${uuid}" is not a server-generated uuid`);
    return join(this.dir, stagedName(uuid));
  }

  async stage(uuid: string, content: AsyncIterable<Uint8Array>, maxBytes: number): Promise<StagedFile> {
    const path = this.pathOf(uuid);
    const md5 = createHash('md5');
    const sha256 = createHash('sha256');
    const file = await open(
      path,
      constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW,
      0o600,
    );
    const writer = new GatheringWriter(file, [md5, sha256]);
    try {
      for await (const chunk of content) {
        // Checked before writing, so an over-limit chunk never reaches the disk.
        if (writer.size + chunk.byteLength > maxBytes) throw new UploadTooLargeError(maxBytes);
        await writer.add(chunk);
      }
      await writer.finish();
      await file.sync();
      await file.close();
    } catch (e) {
      await writer.abandon();
      await file.close().catch(() => undefined);
      await rm(path, { force: true });
      throw e;
    }
    return {
      uuid,
      name: stagedName(uuid),
      size: writer.size,
      md5: md5.digest('hex'),
      sha256: sha256.digest('hex'),
    };
  }

  /** A hard link then an unlink: link never replaces an existing name, so another upload's file is safe. */
  async rename(file: StagedFile, uuid: string): Promise<StagedFile> {
    await link(this.pathOf(file.uuid), this.pathOf(uuid));
    await rm(this.pathOf(file.uuid), { force: true });
    return { ...file, uuid, name: stagedName(uuid) };
  }

  async remove(uuid: string): Promise<void> {
    await rm(this.pathOf(uuid), { force: true });
  }

  async sweep(keep: ReadonlySet<string> = new Set()): Promise<number> {
    let names: string[];
    try {
      names = await readdir(this.dir);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return 0;
      throw e;
    }
    const stale = names.filter(
      (n) => n.endsWith(STAGED_SUFFIX) && !keep.has(n.slice(0, -STAGED_SUFFIX.length)),
    );
    await Promise.all(stale.map((n) => rm(join(this.dir, n), { force: true })));
    return stale.length;
  }
}
