/** What happened to one push on one client. Expected failures are data, not exceptions. */
export type OutcomeStatus = 'success' | 'ignored' | 'error';

/** The agent's verdict on one push, before the server stamps it with the client and upload. */
export interface PushVerdict {
  status: OutcomeStatus;
  /** A sentence a sysadmin can act on: names the path, the setting or the rule at fault. */
  message: string;
  /**
   * True when the file's content, mode or owner on the host differs from before the push. Beside
   * `status`, not instead of it: a forced push of identical bytes is a `success` that changed nothing.
   * Absent (an older agent): taken from the status, see changedOf.
   */
  changed?: boolean;
  /** The path of the backup this push kept of the file it replaced; absent when none was kept. */
  backup?: string;
}

/** One client's final result for one upload, in the shape RPort sends to WebSocket listeners. */
export interface PushOutcome extends PushVerdict {
  changed: boolean;
  client_id: string;
  uuid: string;
  /** The destination path when the file was placed; empty when nothing was written. */
  filepath: string;
  /** Bytes placed; 0 when nothing was written. */
  size: number;
}

export const success = (message: string, changed = true): PushVerdict & { changed: boolean } => ({
  status: 'success',
  message,
  changed,
});
export const ignored = (message: string): PushVerdict & { changed: boolean } => ({
  status: 'ignored',
  message,
  changed: false,
});
export const failure = (message: string): PushVerdict & { changed: boolean } => ({
  status: 'error',
  message,
  changed: false,
});

/**
 * `changed` of a result line from an agent that does not send it (an older version): such an agent
 * reports success only after it wrote the file or changed its mode or owner.
 */
export const changedOf = (status: OutcomeStatus, changed: unknown): boolean =>
  typeof changed === 'boolean' ? changed : status === 'success';
