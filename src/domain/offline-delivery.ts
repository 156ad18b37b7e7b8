import type { NodeRouting } from '../ports/cluster-routing.ts';
import type { Clock } from '../ports/clock.ts';
import type { DeliveryQueue, KeptUpload, QueuedTarget, UploadArchive } from '../ports/delivery-queue.ts';
import type { Logger } from '../ports/logger.ts';
import type { ResultStore } from '../ports/result-store.ts';
import type { AcceptedUpload } from './accepted-upload.ts';
import { messageOf } from './errors.ts';
import { changedOf, failure, type PushVerdict } from './outcome.ts';
import { isUnreachable, outcomeOf, spoken, type PushToClient } from './push-to-client.ts';
import type { ReportResult } from './report-result.ts';
import type { SharedCopies } from './shared-copies.ts';
import { Deadlines } from './sleep-until.ts';
import type { StagedRetention } from './staged-retention.ts';

/** Who an outcome is audited under when the upload is no longer known. */
const UNKNOWN_REQUESTER = 'rportd';

const keyOf = (t: { uuid: string; client_id: string }): string => `${t.uuid}\n${t.client_id}`;

/**
 * What a claim's lease adds to the push timeout: the work around one push (reading its upload
 * before, removing its row and recording its outcome after) must finish under the lease, or
 * another node could claim the target and push it a second time.
 */
const LEASE_MARGIN_MS = 30_000;

/** On a cluster node: where the clients are, and the copies of uploads other nodes accepted. */
export interface ClusterDelivery {
  routing: NodeRouting;
  copies: SharedCopies;
}

/** The error a queued target ends with when its client did not come back in time. */
export function notConnectedWithin(clientId: string, offlineTtl: number): string {
  // A target handed to another node without an offline_ttl ends as a push to no node would.
  if (offlineTtl <= 0) return `client ${clientId} is not connected`;
  return `client ${clientId} did not connect within ${spoken(offlineTtl * 1000)} (offline_ttl); the file was not pushed to it`;
}

/** The message a queued target shows while it waits (its status stays pending). */
export function queuedMessage(why: string, expiresAt: Date): string {
  return `queued: ${why}; it is pushed when the client connects, until ${expiresAt.toISOString()}`;
}

/**
 * Server: the targets whose client was offline, or dropped, during their push, when the push gave
 * them an offline_ttl. Each waits in the queue (which outlives a restart) and holds the staged
 * file; it is pushed when its client connects, and ends with an error once its time is over.
 */
export class OfflineDelivery {
  /** Targets being pushed now: neither a second connect nor their expiry takes them meanwhile. */
  private readonly inFlight = new Set<string>();
  /** Queued targets that hold the staged file on this node (not those handed to another node). */
  private readonly held = new Set<string>();
  private readonly deadlines: Deadlines;

  constructor(
    private readonly queue: DeliveryQueue,
    private readonly archive: UploadArchive,
    private readonly results: ResultStore,
    private readonly report: ReportResult,
    private readonly retention: StagedRetention,
    private readonly pusher: PushToClient,
    private readonly clock: Clock,
    private readonly logger: Logger,
    private readonly cluster?: ClusterDelivery,
  ) {
    this.deadlines = new Deadlines(clock);
  }

  /**
   * Queues a target of an upload whose push could not reach its client. `hold: false` leaves this
   * node's staged file alone: the target is handed to another node, which serves its own copy.
   */
  async enqueue(
    clientId: string,
    upload: AcceptedUpload,
    expiresAt: Date,
    why: string,
    opts: { hold?: boolean; note?: string } = {},
  ): Promise<void> {
    const t: QueuedTarget = { uuid: upload.staged.uuid, client_id: clientId, expires_at: expiresAt };
    await this.queue.enqueue(t);
    if (opts.hold ?? true) this.holdFor(t);
    await this.results.note(t.uuid, clientId, opts.note ?? queuedMessage(why, expiresAt));
    this.logger.info(
      { uuid: t.uuid, client_id: clientId, until: expiresAt.toISOString(), reason: why },
      'target queued until its client connects',
    );
    this.expireAt(t, upload);
    // It may have connected while the target was being queued: its announce found nothing then.
    if (this.pusher.connected(clientId))
      void this.serve(clientId).catch((e: unknown) =>
        this.logger.error({ client_id: clientId, err: messageOf(e) }, 'serving queued targets failed'),
      );
  }

  /**
   * On a cluster node: a target whose client is connected to another node is queued for that client
   * and that node is told to serve it. It waits until its offline_ttl, or long enough for a claim of
   * a node that died to lapse and the client to be served where it reconnects; then it ends as a
   * target of a client connected nowhere does. False when no other node holds the client.
   */
  async handOff(clientId: string, upload: AcceptedUpload, expiresAt?: Date): Promise<boolean> {
    if (!this.cluster) return false;
    const node = await this.cluster.routing.otherNodeOf(clientId);
    if (node === undefined) return false;
    const window = new Date(this.clock.now().getTime() + 2 * (this.pusher.timeoutMs + LEASE_MARGIN_MS));
    const until = expiresAt && expiresAt > window ? expiresAt : window;
    const why = `client ${clientId} is connected to node ${node}`;
    await this.enqueue(clientId, upload, until, why, {
      hold: false,
      note: `routed: ${why}, which pushes it`,
    });
    await this.cluster.routing
      .wake(node, clientId)
      .catch((e: unknown) =>
        this.logger.warn(
          { client_id: clientId, node, err: messageOf(e) },
          'telling a node to serve its client failed; it serves the target on its sweep or the next connect',
        ),
      );
    return true;
  }

  /** After a round's final outcomes: the shared object goes when no target of the upload waits anywhere. */
  async settled(uuid: string): Promise<void> {
    await this.cluster?.copies.settle(uuid);
  }

  /** A wake-up from another node: serves the client when it is connected here (it may have moved on). */
  async serveHere(clientId: string): Promise<number> {
    return this.pusher.connected(clientId) ? this.serve(clientId) : 0;
  }

  /** Serves every connected client of this node that has queued targets (a wake-up may have been lost). */
  async sweep(): Promise<number> {
    let ended = 0;
    const clients = new Set((await this.queue.all()).map((t) => t.client_id));
    for (const clientId of clients) ended += await this.serveHere(clientId);
    return ended;
  }

  /**
   * A client connected: pushes what waits for it, oldest first, each target only under this node's
   * claim (several nodes share the queue, and the client may be connected to another). Returns how
   * many targets ended.
   */
  async serve(clientId: string): Promise<number> {
    // One push is bounded by the push timeout, so a lease of that plus a margin covers it. The
    // claim is renewed before each push rather than sized for the whole queue: a node that dies
    // then holds its client's targets for one lease at most.
    const leaseMs = this.pusher.timeoutMs + LEASE_MARGIN_MS;
    const tried = new Set<string>();
    let ended = 0;
    for (;;) {
      const t = (await this.queue.claim(clientId, leaseMs)).find(
        (q) => !tried.has(keyOf(q)) && !this.inFlight.has(keyOf(q)),
      );
      if (!t) return ended;
      const key = keyOf(t);
      tried.add(key);
      this.inFlight.add(key);
      let done = false;
      try {
        done = await this.deliver(t);
        if (done) ended += 1;
      } finally {
        this.inFlight.delete(key);
        // Still queued (its client dropped again): free for the node where the client connects next.
        if (!done) await this.queue.release(t.uuid, t.client_id);
      }
    }
  }

  /**
   * At start (before any client connects): each queued target holds its staged file again and
   * waits for its client; one whose time ended while rportd was down ends now.
   */
  async resume(): Promise<{ queued: number; expired: number }> {
    let queued = 0;
    let expired = 0;
    for (const t of await this.queue.all()) {
      this.holdFor(t);
      const kept = await this.archive.find(t.uuid);
      const upload = this.servable(kept);
      if (upload && t.expires_at > this.clock.now()) {
        queued += 1;
        this.expireAt(t, upload);
      } else {
        expired += 1;
        await this.end(t, kept?.upload, failure(this.expiredOrGone(t, upload)));
      }
    }
    return { queued, expired };
  }

  /** Lets go of the expiry timers (rportd stops); the queue itself stays for the next start. */
  close(): void {
    this.deadlines.close();
  }

  /** The upload, when its file can still be pushed: staged here, or (on a cluster node) in the shared store. */
  private servable(kept: KeptUpload | undefined): AcceptedUpload | undefined {
    return kept && (kept.staged || this.cluster) ? kept.upload : undefined;
  }

  private holdFor(t: QueuedTarget): void {
    if (this.held.has(keyOf(t))) return;
    this.held.add(keyOf(t));
    this.retention.hold(t.uuid);
  }

  /** One queued target, its client connected now. True when the target ended. */
  private async deliver(t: QueuedTarget): Promise<boolean> {
    const kept = await this.archive.find(t.uuid);
    if (!kept || t.expires_at <= this.clock.now())
      return this.end(t, kept?.upload, failure(this.expiredOrGone(t, this.servable(kept))));
    // Not staged here: another node accepted it (or this node's file went), so a copy from the shared store.
    const copy = !kept.staged && this.cluster ? this.cluster.copies : undefined;
    if (!kept.staged && !(await copy?.acquire(t.uuid)))
      return this.end(t, kept.upload, failure(this.expiredOrGone(t, undefined)));
    try {
      return await this.pushQueued(t, kept.upload);
    } finally {
      await copy?.release(t.uuid);
    }
  }

  private async pushQueued(t: QueuedTarget, upload: AcceptedUpload): Promise<boolean> {
    const verdict = await this.pusher.push(t.client_id, upload);
    if (!isUnreachable(verdict)) return this.end(t, upload, verdict);
    if (t.expires_at > this.clock.now()) {
      // Dropped again: it stays queued for the next connect.
      await this.results.note(t.uuid, t.client_id, queuedMessage(verdict.message, t.expires_at));
      return false;
    }
    return this.end(t, upload, failure(notConnectedWithin(t.client_id, upload.offlineTtl ?? 0)));
  }

  private expiredOrGone(t: QueuedTarget, upload: AcceptedUpload | undefined): string {
    return upload
      ? notConnectedWithin(t.client_id, upload.offlineTtl ?? 0)
      : `the staged file of upload ${t.uuid} is gone; the file was not pushed to client ${t.client_id}`;
  }

  /** Ends a queued target with its outcome, once: false when another path ended it first. */
  private async end(
    t: QueuedTarget,
    upload: AcceptedUpload | undefined,
    verdict: PushVerdict,
  ): Promise<boolean> {
    if (!(await this.queue.remove(t.uuid, t.client_id))) {
      // Ended by another node (or under its claim now): this node's hold on its file is no longer needed.
      if (this.held.delete(keyOf(t))) await this.retention.release(t.uuid);
      return false;
    }
    const outcome = upload
      ? outcomeOf(t.client_id, upload, verdict)
      : {
          ...verdict,
          client_id: t.client_id,
          uuid: t.uuid,
          filepath: '',
          size: 0,
          changed: changedOf(verdict.status, verdict.changed),
        };
    await this.report
      .execute(outcome, upload?.requestedBy || UNKNOWN_REQUESTER)
      .catch((e: unknown) =>
        this.logger.error(
          { client_id: t.client_id, uuid: t.uuid, err: messageOf(e) },
          'recording an outcome failed',
        ),
      );
    if (this.held.delete(keyOf(t))) await this.retention.release(t.uuid);
    await this.cluster?.copies.settle(t.uuid);
    return true;
  }

  private expireAt(t: QueuedTarget, upload: AcceptedUpload): void {
    this.deadlines
      .reach(t.expires_at)
      .then(async (reached) => {
        // A push under way ends the target itself, with the expiry if its client drops again.
        if (!reached || this.inFlight.has(keyOf(t))) return;
        // Queued again later with a later end (a retry): that end's own timer decides.
        const now = (await this.queue.forClient(t.client_id)).find((q) => q.uuid === t.uuid);
        if (now && now.expires_at > this.clock.now()) return;
        await this.end(t, upload, failure(notConnectedWithin(t.client_id, upload.offlineTtl ?? 0)));
      })
      .catch((e: unknown) =>
        this.logger.error(
          { uuid: t.uuid, client_id: t.client_id, err: messageOf(e) },
          'ending a queued target failed',
        ),
      );
  }
}
