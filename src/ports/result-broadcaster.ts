import type { PushOutcome } from '../domain/outcome.ts';

/** Live listeners (WebSocket) of outcomes. */
export interface ResultBroadcaster {
  /** `requestedBy` is the user who made the upload: it decides who may see the outcome. */
  publish(outcome: PushOutcome, requestedBy: string): void;
}
