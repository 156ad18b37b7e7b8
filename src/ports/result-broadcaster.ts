import type { PushOutcome } from '../domain/outcome.ts';

/** Live listeners (WebSocket) of outcomes. */
export interface ResultBroadcaster {
  publish(outcome: PushOutcome): void;
}
