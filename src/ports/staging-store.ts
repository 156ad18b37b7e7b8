/** A file the server holds in `{data_dir}/filepush/` while clients fetch it. */
export interface StagedFile {
  uuid: string;
  /** `<uuid>_rport_filepush`: the only name a client may fetch it by. */
  name: string;
  size: number;
  md5: string;
  sha256: string;
}

export class UploadTooLargeError extends Error {
  constructor(readonly limit: number) {
    super(`the upload is larger than max_filepush_size (${limit} bytes)`);
    this.name = 'UploadTooLargeError';
  }
}

/** Server side: where uploads wait while clients fetch them. */
export interface StagingStore {
  /**
   * Streams content into a new staged file, hashing as it goes. Stops and removes the partial file
   * with UploadTooLargeError as soon as more than maxBytes arrive; removes it on any other failure too.
   */
  stage(uuid: string, content: AsyncIterable<Uint8Array>, maxBytes: number): Promise<StagedFile>;
  /**
   * Gives a staged file another uuid: the caller's own id for the upload, when it came after the
   * file. Fails with code EEXIST, changing nothing, when a file of that uuid is staged already.
   */
  rename(file: StagedFile, uuid: string): Promise<StagedFile>;
  /** Removes a staged file; a missing file is not an error. */
  remove(uuid: string): Promise<void>;
  /**
   * Removes every staged file but those of the uploads in `keep` (on start, only the files kept for
   * queued targets and retries can still be live). Returns how many it removed.
   */
  sweep(keep?: ReadonlySet<string>): Promise<number>;
}
