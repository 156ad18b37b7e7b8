import type { StagedFile } from '../ports/staging-store.ts';
import type { Ownership } from './ownership.ts';
import { stagedName, type PushRequest } from './push-request.ts';

/** An upload that passed every check: staged, hashed, with its resolved target clients. */
export interface AcceptedUpload {
  staged: StagedFile;
  filename: string;
  destination: string;
  force: boolean;
  sync: boolean;
  mode?: number;
  ownership: Ownership;
  /** Resolved client ids, each once. */
  targets: string[];
  requestedBy: string;
  /** A validator's name on the agents; absent when the push names none. */
  validate?: string;
  /** The push's own backup choice; absent leaves it to each agent. */
  backup?: boolean;
  /** Check mode: the agents change nothing (absent: false). */
  check?: boolean;
  /** Outcomes carry a diff (absent: false). */
  diff?: boolean;
  /**
   * Seconds an offline (or dropped) target waits for its client; undefined takes `[server]
   * offline_ttl`, 0 ends it at once with an error.
   */
  offlineTtl?: number;
}

export function pushRequestOf(u: AcceptedUpload): PushRequest {
  return {
    uuid: u.staged.uuid,
    sourceName: stagedName(u.staged.uuid),
    destination: u.destination,
    size: u.staged.size,
    md5: u.staged.md5,
    force: u.force,
    sync: u.sync,
    mode: u.mode,
    ownership: u.ownership,
    ...(u.validate === undefined ? {} : { validate: u.validate }),
    ...(u.backup === undefined ? {} : { backup: u.backup }),
    // Sent only when asked for: a push without them is the same request as before.
    ...(u.check ? { check: true } : {}),
    ...(u.diff ? { diff: true } : {}),
  };
}
