import { createHash, randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { open, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { GatheringWriter } from '../fs/gathering-writer.ts';
import { STAGED_SUFFIX, stagedName } from '../../domain/push-request.ts';

export interface Expected {
  size: number;
  sha256: string;
}

/**
 * Writes chunks to `dir/<uuid>_rport_filepush`, through a temp name renamed into place only once
 * the bytes are complete, synced and match the expected size and sha256: the confined SFTP never
 * sees part of a file. The temp name starts with a dot, which the SFTP's names never do, and ends
 * with the staged suffix, so a restart's sweep removes one a crash left. Any failure removes it.
 */
export async function writeLocalCopy(
  dir: string,
  uuid: string,
  chunks: AsyncIterable<Uint8Array>,
  expected: Expected,
): Promise<void> {
  const temp = join(dir, `.fetch-${uuid}-${randomBytes(6).toString('hex')}${STAGED_SUFFIX}`);
  const sha256 = createHash('sha256');
  const file = await open(
    temp,
    constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW,
    0o600,
  );
  const writer = new GatheringWriter(file, [sha256]);
  try {
    for await (const chunk of chunks) await writer.add(chunk);
    await writer.finish();
    await file.sync();
    await file.close();
    const got = sha256.digest('hex');
    if (writer.size !== expected.size || got !== expected.sha256)
      throw new Error(
        `staged files: the copy of ${stagedName(uuid)} has ${writer.size} bytes, sha256 ${got}; ` +
          `the shared object has ${expected.size} bytes, sha256 ${expected.sha256}`,
      );
    await rename(temp, join(dir, stagedName(uuid)));
  } catch (e) {
    await writer.abandon();
    await file.close().catch(() => undefined);
    await rm(temp, { force: true });
    throw e;
  }
}
