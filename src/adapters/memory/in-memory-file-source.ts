import type { PushRequest } from '../../domain/push-request.ts';
import type { Clock } from '../../ports/clock.ts';
import type { FileSource } from '../../ports/file-source.ts';
import type { LiveTransfers } from '../../ports/live-transfers.ts';
import { errnoError } from './errno-error.ts';
import type { InMemoryLink } from './in-memory-link.ts';

export interface FileSourceFaults {
  /** Flip one byte in the middle of the file on the way. */
  corrupt?: boolean;
  /** Drop the link once this many bytes went through. */
  disconnectAfterBytes?: number;
  /** Virtual delay before each chunk (a slow link); needs a clock. */
  delayPerChunkMs?: number;
}

interface InMemoryFileSourceOptions {
  /** Staged bytes by staged name (e.g. InMemoryStagingStore.read). */
  read: (stagedName: string) => Uint8Array | undefined;
  /** The fetching client, for the server's live-transfer check. */
  clientId?: string;
  transfers?: LiveTransfers;
  link?: InMemoryLink;
  clock?: Clock;
  chunkSize?: number;
  faults?: FileSourceFaults;
}

/** Serves staged bytes to an agent, confined like the SFTP server and with injectable faults. */
export class InMemoryFileSource implements FileSource {
  constructor(private readonly opts: InMemoryFileSourceOptions) {}

  async *open(request: PushRequest): AsyncIterable<Uint8Array> {
    const { faults = {}, chunkSize = 16 * 1024 } = this.opts;
    this.check(request);
    const staged = this.opts.read(request.sourceName);
    if (!staged) throw errnoError('ENOENT', `the server has no staged file ${request.sourceName}`);
    const data = Uint8Array.from(staged);
    if (faults.corrupt && data.byteLength > 0) data[data.byteLength >> 1] ^= 0xff;
    for (let offset = 0; offset < data.byteLength; offset += chunkSize) {
      if (faults.delayPerChunkMs) await this.opts.clock?.sleep(faults.delayPerChunkMs);
      this.check(request);
      const chunk = data.subarray(offset, offset + chunkSize);
      yield chunk;
      if (
        faults.disconnectAfterBytes !== undefined &&
        offset + chunk.byteLength >= faults.disconnectAfterBytes
      ) {
        this.opts.link?.disconnect(`link dropped after ${offset + chunk.byteLength} bytes`);
      }
    }
    this.check(request);
  }

  /** Refuses like the server would: link down, or no live grant for this client and file. */
  private check(request: PushRequest): void {
    const { link, transfers, clientId = '' } = this.opts;
    if (link && !link.up)
      throw errnoError(
        'ECONNRESET',
        `connection to the server lost while reading ${request.sourceName} (${link.downReason})`,
      );
    if (transfers && !transfers.isAllowed(clientId, request.sourceName)) {
      throw errnoError(
        'EACCES',
        `the server refused ${request.sourceName}: no live transfer for client ${clientId}`,
      );
    }
  }
}
