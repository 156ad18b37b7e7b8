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
  /**
   * Asked for with `diff`: a unified diff of the old file against the pushed one, or one line saying
   * why there is none (binary, too large, no old file, diff disabled on the host).
   */
  diff?: string;
}

/** A verdict the agent decided itself, so it knows whether the host changed. */
export type DecidedVerdict = PushVerdict & { changed: boolean };

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

export const success = (message: string, changed = true): DecidedVerdict => ({
  status: 'success',
  message,
  changed,
});
export const ignored = (message: string): DecidedVerdict => ({
  status: 'ignored',
  message,
  changed: false,
});
export const failure = (message: string): DecidedVerdict => ({
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
