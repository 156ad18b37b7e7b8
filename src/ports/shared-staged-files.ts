/** An upload's bytes as every node of a cluster can read them. */
export interface SharedStagedObject {
  uuid: string;
  size: number;
  /** Hex, of the bytes as stored; a copy made from it has the same. */
  sha256: string;
}

/** A shared object copied into this node's staging folder, under the staged name SFTP serves. */
export interface LocalStagedCopy extends SharedStagedObject {
  /** `<uuid>_rport_filepush`, as StagedFile.name. */
  name: string;
}

/**
 * The shared store is out of reach (its server down, the link cut): a cluster node then refuses new
 * uploads and fetches rather than serve half of one. The message names the setting that points at it.
 */
export class SharedStagingUnavailableError extends Error {
  readonly code = 'ESHAREDSTAGING';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'SharedStagingUnavailableError';
  }
}

/**
 * Staged uploads shared by the nodes of a cluster. The node that accepts an upload stages it locally
 * as a single node does and publishes it here; a node with targets for it copies it once into its own
 * staging folder and serves its agents from there. Failures leave nothing partial behind: no shared
 * object, no local file. Errors carry a node-style `code`: EEXIST (the uuid is taken), ENOENT (no such
 * object) or ESHAREDSTAGING (SharedStagingUnavailableError).
 */
export interface SharedStagedFiles {
  /**
   * Streams content into a new shared object, as it arrives. Fails with EEXIST, changing nothing, when
   * an object of that uuid exists; a failing content iterator fails the put and stores nothing.
   */
  put(uuid: string, content: AsyncIterable<Uint8Array>): Promise<SharedStagedObject>;
  /**
   * Makes the object a complete local staged file on this node, fetching it only when no complete
   * copy is there yet; concurrent calls for one uuid share one fetch. Fails with ENOENT when there is
   * no such object.
   */
  fetchToLocal(uuid: string): Promise<LocalStagedCopy>;
  /** Removes the shared object; a missing one is not an error. Local copies are each node's own. */
  remove(uuid: string): Promise<void>;
}
