import type { PushRequest } from '../domain/push-request.ts';

/** Agent side: where a pushed file's bytes come from (SFTP from the server in production). */
export interface FileSource {
  /**
   * Streams the staged file named by request.sourceName. The iterable errors when the transfer
   * fails (connection lost, file refused); breaking out of it stops the transfer.
   * A chunk is lent: it is valid until the consumer asks for the next one, so a consumer that keeps
   * bytes beyond that copies them (this keeps a transfer's memory fixed whatever the file's size).
   */
  open(request: PushRequest): AsyncIterable<Uint8Array>;
}
