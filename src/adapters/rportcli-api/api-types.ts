/** Shapes of the rportd HTTP API as the CLI reads them (docs/api.md is the reference). */

export interface ApiErrorItem {
  code: string;
  title: string;
  detail: string;
}

export interface ClientSummary {
  id: string;
  name: string;
  hostname: string;
  os: string;
  tags: string[];
  connected: boolean;
  file_reception_enabled?: boolean;
  [more: string]: unknown;
}

export interface ClientGroupSummary {
  id: string;
  description: string;
  params: Record<string, string[] | undefined>;
  allowed_user_groups?: string[];
  [more: string]: unknown;
}

/** The answer to an accepted upload. */
export interface UploadReceipt {
  uuid: string;
  filepath: string;
  size: number;
}

export type TargetStatus = 'pending' | 'success' | 'ignored' | 'error';

/** One client's latest outcome for an upload, as stored or as broadcast live. */
export interface TargetOutcome {
  client_id: string;
  status: TargetStatus;
  message: string;
  filepath: string;
  size: number;
  /** Whether the file on the host changed; undefined from a server that does not say (or while pending). */
  changed?: boolean;
  /** The backup the push kept of the replaced file; absent when none was kept. */
  backup?: string;
  /** The diff the upload asked for (`--diff`), or the line saying why there is none. */
  diff?: string;
}

/** GET /api/v1/files/:uuid: the upload's parameters and every target's latest outcome. */
export interface UploadStatus {
  uuid: string;
  targets: TargetOutcome[];
  /** The rest of what the server stores (dest, size, md5, flags...), passed through as is. */
  upload: Record<string, unknown>;
}

/** How far a client's fetch has got, from GET /api/v1/ws/uploads?progress=1. */
export interface LiveProgress {
  uuid: string;
  client_id: string;
  bytes: number;
  size: number;
}

/** A live outcome from GET /api/v1/ws/uploads. */
export interface LiveOutcome extends TargetOutcome {
  uuid: string;
}

/** What the admin asks for in one upload. */
export interface UploadRequest {
  /** Path of the local file to send. */
  file: string;
  clientIds: string[];
  groupIds: string[];
  /** Left out when undefined, so the server names the missing field. */
  dest?: string;
  force?: boolean;
  sync?: boolean;
  mode?: string;
  user?: string;
  group?: string;
  /** A validator's name in the clients' rport.conf; left out when undefined. */
  validate?: string;
  /** true/false: keep (or not) a backup of a replaced file; undefined leaves it to each client. */
  backup?: boolean;
  /** Check mode: the agents say what they would do and change nothing. */
  check?: boolean;
  /** Each outcome carries a diff of the old file against the new one. */
  diff?: boolean;
  /** Seconds an offline client's target waits for it (offline_ttl); the server's default when undefined. */
  offlineTtl?: string;
}

/** Bytes of the file handed to the network so far, and the file's size. */
export type UploadProgress = (sent: number, total: number) => void;
