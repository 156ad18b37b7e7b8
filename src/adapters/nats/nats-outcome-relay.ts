import type { Msg, NatsConnection, Subscription } from '@nats-io/transport-node';
import { messageOf } from '../../domain/errors.ts';
import type { PushOutcome } from '../../domain/outcome.ts';
import type { TransferProgress } from '../../domain/transfer-progress.ts';
import type { Logger } from '../../ports/logger.ts';
import type { ProgressBroadcaster } from '../../ports/progress-broadcaster.ts';
import type { ResultBroadcaster } from '../../ports/result-broadcaster.ts';
import { RateLimitedWarnings } from '../http/rate-limited-warnings.ts';
import {
  BadEventError,
  decodeEvent,
  encodeOutcome,
  encodeProgress,
  MAX_EVENT_BYTES,
  OUTCOME_SUBJECT,
  PROGRESS_SUBJECT,
} from './nats-outcome-relay-events.ts';
import { ProgressAllowance } from './nats-outcome-relay-progress.ts';

/** This node's own listeners: the WebSocket hub. */
export type LocalBroadcaster = ResultBroadcaster & ProgressBroadcaster;

export interface RelayOptions {
  /** `[cluster] node_id`: stamped on what this node publishes; what carries it comes back and is skipped. */
  nodeId: string;
  logger: Logger;
  /** Whether the connection is up now: progress is not queued for a bus that is away (outcomes are). */
  connected?: () => boolean;
}

/**
 * Outcomes and progress across nodes. One published here reaches this node's listeners at once and
 * goes to NATS stamped with the node id; one another node published reaches this node's listeners
 * only, never published again. The user who made the upload travels with it, so each node's
 * listeners are filtered by the same rule (`mayReadUpload`) as for its own pushes.
 */
export class NatsOutcomeRelay implements ResultBroadcaster, ProgressBroadcaster {
  private readonly subscriptions: Subscription[];
  private readonly allowance = new ProgressAllowance();
  private readonly dropped: RateLimitedWarnings;
  private readonly unsent: RateLimitedWarnings;
  private closed = false;
  /** Messages from the bus that were not valid events (malformed, oversized, over the progress limits). */
  droppedCount = 0;

  constructor(
    private readonly local: LocalBroadcaster,
    private readonly connection: NatsConnection,
    private readonly opts: RelayOptions,
  ) {
    this.dropped = new RateLimitedWarnings(opts.logger, 'cluster event from NATS dropped');
    this.unsent = new RateLimitedWarnings(opts.logger, 'cluster event not sent to NATS');
    // Callbacks, not iterators: a message is handled as it arrives, so nothing queues up unread.
    this.subscriptions = [OUTCOME_SUBJECT, PROGRESS_SUBJECT].map((subject) =>
      connection.subscribe(subject, { callback: (err, msg) => this.receive(subject, err, msg) }),
    );
  }

  publish(outcome: PushOutcome, requestedBy: string): void {
    this.local.publish(outcome, requestedBy);
    let text = encodeOutcome(this.opts.nodeId, requestedBy, outcome);
    if (Buffer.byteLength(text) > MAX_EVENT_BYTES && outcome.diff !== undefined)
      // The outcome still reaches every node; only the diff, which alone can be this large, stays here.
      text = encodeOutcome(this.opts.nodeId, requestedBy, {
        ...outcome,
        diff: `no diff: over the ${MAX_EVENT_BYTES} bytes a message between rportd nodes may hold`,
      });
    this.send(OUTCOME_SUBJECT, outcome.uuid, text);
  }

  progress(p: TransferProgress, requestedBy: string): void {
    this.local.progress(p, requestedBy);
    if (this.opts.connected && !this.opts.connected()) return;
    this.send(PROGRESS_SUBJECT, p.uuid, encodeProgress(this.opts.nodeId, requestedBy, p));
  }

  /** Stops listening to the bus (shutdown); what is published afterwards reaches local listeners only. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const s of this.subscriptions) s.unsubscribe();
    this.dropped.flush();
    this.unsent.flush();
  }

  private send(subject: string, uuid: string, text: string): void {
    if (this.closed) return;
    try {
      // While NATS reconnects the client keeps this until it is back, so an outcome is not lost to a short outage.
      this.connection.publish(subject, text);
    } catch (e) {
      this.unsent.warn({ subject, uuid, reason: messageOf(e) });
    }
  }

  private receive(subject: string, err: Error | null, msg: Msg): void {
    if (err) {
      this.unsent.warn({ subject, reason: `subscription: ${err.message}` });
      return;
    }
    try {
      const event = decodeEvent(msg.data);
      if (event.node === this.opts.nodeId) return; // its own, already given to local listeners
      if ('outcome' in event) {
        if (subject !== OUTCOME_SUBJECT) throw new BadEventError(`an outcome on ${subject}`);
        this.allowance.end(event.node, event.outcome.uuid, event.outcome.client_id);
        this.local.publish(event.outcome, event.requestedBy);
        return;
      }
      if (subject !== PROGRESS_SUBJECT) throw new BadEventError(`a progress on ${subject}`);
      if (!this.allowance.take(event.node, event.progress))
        throw new BadEventError('a progress over the per-push limits (or not further on than the last)');
      this.local.progress(event.progress, event.requestedBy);
    } catch (e) {
      this.droppedCount++;
      this.dropped.warn({ subject, bytes: msg.data.length, reason: messageOf(e) });
    }
  }
}
