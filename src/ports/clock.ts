/** Time, as a port so that simulations repeat exactly. */
export interface Clock {
  now(): Date;
  /** Resolves after ms; rejects with the signal's reason when signal aborts first. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

export interface IdGenerator {
  /** A new unique id (a UUID in production). */
  newId(): string;
}

export interface Logger {
  debug(fields: Record<string, unknown>, message: string): void;
  info(fields: Record<string, unknown>, message: string): void;
  warn(fields: Record<string, unknown>, message: string): void;
  error(fields: Record<string, unknown>, message: string): void;
}
