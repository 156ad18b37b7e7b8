/**
 * Live progress of one client's fetch: the rules both ends keep. The agent reports seldom and only
 * for files large enough to take a while; the server forwards what is plausible and little of it,
 * so a hostile agent cannot turn a flood of progress lines into a flood to listeners.
 */

/** Files of at most this many bytes report no progress: their outcome follows within moments. */
export const PROGRESS_MIN_SIZE = 1024 * 1024;
/** The agent sends at most one progress line per push in this interval, the first one interval into the push. */
export const AGENT_PROGRESS_EVERY_MS = 1000;
/**
 * The server forwards at most one progress per push and client in this interval. Shorter than the
 * agent's, so the agent's lines are never dropped for arriving a little early.
 */
export const SERVER_PROGRESS_EVERY_MS = 500;
/** The server forwards a progress only when bytes moved on by 1/PROGRESS_STEPS of the size: at most this many per push and client. */
export const PROGRESS_STEPS = 100;

/** How far one client's fetch of one upload has got, as listeners that asked for progress see it. */
export interface TransferProgress {
  uuid: string;
  client_id: string;
  /** Bytes the client has received so far: never more than size. */
  bytes: number;
  size: number;
}

/** Whether a push of this many bytes reports progress at all. */
export const reportsProgress = (size: number): boolean => size > PROGRESS_MIN_SIZE;

/**
 * The agent's pacing for one push: the returned function takes every count of bytes received and
 * calls send at most once per AGENT_PROGRESS_EVERY_MS, never for a small file. `now` is in ms.
 */
export function pacedProgress(
  size: number,
  now: () => number,
  send: (bytes: number) => void,
): (bytes: number) => void {
  if (!reportsProgress(size)) return () => undefined;
  let last = now();
  return (bytes) => {
    const at = now();
    if (at - last < AGENT_PROGRESS_EVERY_MS) return;
    last = at;
    send(bytes);
  };
}
