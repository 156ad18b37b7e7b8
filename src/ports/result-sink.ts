import type { PushOutcome } from '../domain/outcome.ts';

/** Per-upload, per-client results that can be queried after the fact. */
export interface ResultStore {
  /** Records the targets of a new upload, each pending. */
  begin(uuid: string, clientIds: string[]): Promise<void>;
  /** Records a client's final outcome. Returns false when that client already had one (it is kept). */
  record(outcome: PushOutcome): Promise<boolean>;
}

/** Live listeners (WebSocket) of outcomes. */
export interface ResultBroadcaster {
  publish(outcome: PushOutcome): void;
}
