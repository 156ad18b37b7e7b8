import type { PushRequest } from '../domain/push-request.ts';

/** Agent side: where a pushed file's bytes come from (SFTP from the server in production). */
export interface FileSource {
  /**
   * Streams the staged file named by request.sourceName. The iterable errors when the transfer
   * fails (connection lost, file refused); breaking out of it stops the transfer.
   */
  open(request: PushRequest): AsyncIterable<Uint8Array>;
}
