import type { PushOutcome } from '../../domain/outcome.ts';
import type { ResultBroadcaster } from '../../ports/result-broadcaster.ts';

type Listener = (outcome: PushOutcome) => void;

/** Records every published outcome and forwards it to current subscribers, like the WebSocket hub. */
export class InMemoryResultBroadcaster implements ResultBroadcaster {
  readonly published: PushOutcome[] = [];
  private readonly listeners = new Set<Listener>();

  publish(outcome: PushOutcome): void {
    this.published.push({ ...outcome });
    for (const l of [...this.listeners]) l({ ...outcome });
  }

  /** Returns the unsubscribe function; a listener only sees outcomes published after it subscribed. */
  subscribe(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}
