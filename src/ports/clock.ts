/** Time, as a port so that simulations repeat exactly. */
export interface Clock {
  now(): Date;
  /** Resolves after ms; rejects with the signal's reason when signal aborts first. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}
