import type { PushOutcome } from '../domain/outcome.ts';

/** Per-upload, per-client results that can be queried after the fact. */
export interface ResultStore {
  /** Records the targets of a new upload, each pending. */
  begin(uuid: string, clientIds: string[]): Promise<void>;
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

/** The stored per-client results of one upload, as the API shows them. */
interface StoredTarget {
  client_id: string;
  status: string;
  message: string;
  filepath: string;
  size: number;
  /** 1 for the first push; one more for each retry. */
  attempt: number;
  updated_at: string;
}

/** Reads the stored per-client results of an upload (the SQLite result store in production). */
export interface UploadResults {
  targets(uuid: string): Promise<StoredTarget[]>;
}

/** A target still waiting for its outcome, with who asked for the push. */
export interface PendingTarget {
  uuid: string;
  client_id: string;
  /** The user who made the upload; empty when the store cannot tell. */
  requested_by: string;
}

/**
 * Finds the targets without a final outcome. Asked at start, before anything is accepted, these
 * are the pushes a previous run left unfinished.
 */
export interface PendingTargets {
  pendingTargets(): Promise<PendingTarget[]>;
}
