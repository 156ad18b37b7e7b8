import type { OutcomeStatus, PushOutcome } from '../domain/outcome.ts';

/** Per-upload, per-client results that can be queried after the fact. */
export interface ResultStore {
  /**
   * Records the targets of a new upload, each pending. Returns false, changing nothing, when that
   * uuid was begun before: an upload's uuid is never used twice, even one the caller chose.
   */
  begin(uuid: string, clientIds: string[]): Promise<boolean>;
  /** Records a client's final outcome. Returns false when that client already had one (it is kept). */
  record(outcome: PushOutcome): Promise<boolean>;
  /** Sets the message of a target still pending (e.g. queued for its client); no-op otherwise. */
  note(uuid: string, clientId: string, message: string): Promise<void>;
  /**
   * For a retry: sets the upload's targets whose outcome was `error` pending again, one attempt
   * more each, and returns their ids (empty when none had an error).
   */
  reopen(uuid: string): Promise<string[]>;
}

export type TargetStatus = OutcomeStatus | 'pending';

/** The stored per-client results of one upload, as the API shows them. */
export interface StoredTarget {
  client_id: string;
  status: TargetStatus;
  message: string;
  filepath: string;
  size: number;
  /** 1 for the first push; one more for each retry. */
  attempt: number;
  /** Whether the push changed the file on the host; null while pending (or stored by an older rportd). */
  changed: boolean | null;
  /** The backup the push kept of the replaced file; absent when none was kept. */
  backup?: string;
  /** The diff the push asked for, or why there is none; absent when none was asked for. */
  diff?: string;
  updated_at: string;
}

/** Which uploads a listing holds (filters combine with AND), in what order, which page. */
export interface UploadQuery {
  /** Uploads this user made. */
  username?: string;
  /** Uploads with this client among their targets. */
  client_id?: string;
  /** Uploads with at least one target in this state. */
  status?: TargetStatus;
  /** Accepted at or after. */
  since?: Date;
  /** Accepted before. */
  until?: Date;
  /** By acceptance time: newest first (`desc`) or oldest first. */
  order: 'asc' | 'desc';
  limit: number;
  offset: number;
}

/** One accepted upload: who, when, its parameters as audited, and each target's latest state. */
export interface ListedUpload {
  uuid: string;
  /** Empty when the store cannot tell. */
  requested_by: string;
  /** ISO 8601. */
  created_at: string;
  request: Record<string, unknown>;
  targets: StoredTarget[];
}

/** Reads the stored per-client results of uploads (the SQLite result store in production). */
export interface UploadResults {
  targets(uuid: string): Promise<StoredTarget[]>;
  /** One page of the uploads the query selects, and how many it selects in all; targets without their diffs. */
  listUploads(q: UploadQuery): Promise<{ uploads: ListedUpload[]; total: number }>;
}

/** A target still waiting for its outcome, with who asked for the push. */
export interface PendingTarget {
  uuid: string;
  client_id: string;
  /** The user who made the upload; empty when the store cannot tell. */
  requested_by: string;
}

/**
 * Finds the targets without a final outcome that this server pushes. Asked at start, before anything
 * is accepted, these are the pushes its previous run left unfinished (a store shared by several
 * nodes answers with the starting node's own only).
 */
export interface PendingTargets {
  pendingTargets(): Promise<PendingTarget[]>;
}
