import type { DatabaseState } from './database-health.ts';

/** Whether the node's message bus (NATS, `[cluster] nats_url`) answers; shaped as the database's state. */
export type MessageBusState = DatabaseState;

/** The bus's health: what GET /api/v1/health shows beside the database, and what uploads wait for. */
export interface MessageBusHealth {
  readonly kind: 'nats';
  /** The state, probing when the last probe is stale; callers at once share one probe. */
  check(): Promise<MessageBusState>;
}
