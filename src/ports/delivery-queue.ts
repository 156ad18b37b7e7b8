import type { AcceptedUpload } from '../domain/accepted-upload.ts';

/** A target that was offline (or dropped) during its push and waits for its client to connect. */
export interface QueuedTarget {
  uuid: string;
  client_id: string;
  /** When its offline_ttl ends: after that it gets an error outcome instead of a push. */
  expires_at: Date;
}

/** The targets waiting for their client, kept where a restart of rportd finds them again. */
export interface DeliveryQueue {
  /** Queues a target, or moves the end of one already queued. */
  enqueue(t: QueuedTarget): Promise<void>;
  /** Takes a target out of the queue; false when it was not queued (another path ended it). */
  remove(uuid: string, clientId: string): Promise<boolean>;
  /** The targets queued for one client, oldest first. */
  forClient(clientId: string): Promise<QueuedTarget[]>;
  /** Every queued target, oldest first. */
  all(): Promise<QueuedTarget[]>;
  /**
   * The targets of one client this node may push now, oldest first, each held for `leaseMs`: while
   * the lease lasts no other node pushes or ends it. Claiming again renews this node's own. Where
   * one node is all there is (memory, SQLite) nobody else could race for them: it is a listing.
   */
  claim(clientId: string, leaseMs: number): Promise<QueuedTarget[]>;
  /**
   * Gives back this node's claim on a target that stays queued (its client dropped again); false
   * when this node held none on it (it was not queued, or another node holds it).
   */
  release(uuid: string, clientId: string): Promise<boolean>;
}

/** An accepted upload as kept for later pushes (queued targets, retries). */
export interface KeptUpload {
  upload: AcceptedUpload;
  /** false once its staged file was removed: it can no longer be pushed. */
  staged: boolean;
  /** When its staged file may go once nothing needs it; undefined while pushes still need it. */
  keepUntil?: Date;
}

/** Accepted uploads, with what is needed to push them again, and whether their staged file is still there. */
export interface UploadArchive {
  save(upload: AcceptedUpload): Promise<void>;
  find(uuid: string): Promise<KeptUpload | undefined>;
  keepUntil(uuid: string, until: Date): Promise<void>;
  stagedRemoved(uuid: string): Promise<void>;
  /** The uploads whose staged file is still kept. */
  withStagedFiles(): Promise<{ uuid: string; keepUntil?: Date }[]>;
}
