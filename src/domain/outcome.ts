/** What happened to one push on one client. Expected failures are data, not exceptions. */
export type OutcomeStatus = 'success' | 'ignored' | 'error';

/** The agent's verdict on one push, before the server stamps it with the client and upload. */
export interface PushVerdict {
  status: OutcomeStatus;
  /** A sentence a sysadmin can act on: names the path, the setting or the rule at fault. */
  message: string;
}

/** One client's final result for one upload, in the shape RPort sends to WebSocket listeners. */
export interface PushOutcome extends PushVerdict {
  client_id: string;
  uuid: string;
  /** The destination path when the file was placed; empty when nothing was written. */
  filepath: string;
  /** Bytes placed; 0 when nothing was written. */
  size: number;
}

export const success = (message: string): PushVerdict => ({ status: 'success', message });
export const ignored = (message: string): PushVerdict => ({ status: 'ignored', message });
export const failure = (message: string): PushVerdict => ({ status: 'error', message });
