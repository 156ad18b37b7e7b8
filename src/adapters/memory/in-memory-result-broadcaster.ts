import type { PushOutcome } from '../../domain/outcome.ts';
import type { TransferProgress } from '../../domain/transfer-progress.ts';
import type { ProgressBroadcaster } from '../../ports/progress-broadcaster.ts';
import type { ResultBroadcaster } from '../../ports/result-broadcaster.ts';

type Listener = (outcome: PushOutcome) => void;

/** Records every published outcome and progress and forwards outcomes to current subscribers, like the WebSocket hub. */
export class InMemoryResultBroadcaster implements ResultBroadcaster, ProgressBroadcaster {
  readonly published: PushOutcome[] = [];
  /** Each progress passed on, with the user whose upload it is. */
  readonly progressed: (TransferProgress & { requestedBy: string })[] = [];
  private readonly listeners = new Set<Listener>();

  publish(outcome: PushOutcome): void {
    this.published.push({ ...outcome });
    for (const l of [...this.listeners]) l({ ...outcome });
  }

  progress(p: TransferProgress, requestedBy: string): void {
    this.progressed.push({ ...p, requestedBy });
  }

  /** Returns the unsubscribe function; a listener only sees outcomes published after it subscribed. */
  subscribe(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}
