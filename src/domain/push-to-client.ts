import type { ClientChannels } from '../ports/client-channel.ts';
import type { Clock } from '../ports/clock.ts';
import type { LiveTransfers } from '../ports/live-transfers.ts';
import { pushRequestOf, type AcceptedUpload } from './accepted-upload.ts';
import { messageOf } from './errors.ts';
import { changedOf, failure, type PushOutcome, type PushVerdict } from './outcome.ts';
import type { ReportProgress } from './report-progress.ts';

/** The client could not be asked, or was lost before it answered: the push may be tried again when it connects. */
export interface Unreachable {
  unreachable: true;
  message: string;
}

export const isUnreachable = (v: PushVerdict | Unreachable): v is Unreachable => 'unreachable' in v;

const TIMED_OUT: unique symbol = Symbol('timed out');
/**
 * Why a push's signal is aborted once it is over (its timer and transfer are let go). One shared
 * reason: abort() without one builds a DOMException with a stack trace per push (rportd's profile of a
 * fan-out to 1000 showed them).
 */
const PUSH_OVER = new Error('the push is over');

/**
 * Server: one push of one upload to one client, granted its staged file for the push's length and
 * timed out when the client stays silent. A client that is not connected, or whose connection
 * drops, is reported as unreachable; the caller decides whether that is the end.
 */
export class PushToClient {
  constructor(
    private readonly channels: ClientChannels,
    private readonly transfers: LiveTransfers,
    private readonly clock: Clock,
    /** How long one client may take for one push before it gets an error outcome. */
    readonly timeoutMs: number,
    /** Where a client's progress goes while its push is live; none is passed on without it. */
    private readonly progress?: ReportProgress,
  ) {}

  /** Whether the client has a channel now. */
  connected(clientId: string): boolean {
    return this.channels.channelFor(clientId) !== undefined;
  }

  async push(clientId: string, upload: AcceptedUpload): Promise<PushVerdict | Unreachable> {
    const channel = this.channels.channelFor(clientId);
    if (!channel) return { unreachable: true, message: `client ${clientId} is not connected` };
    const request = pushRequestOf(upload);
    const abort = new AbortController();
    const gate = this.progress?.open(upload, clientId);
    this.transfers.grant(clientId, request.sourceName);
    try {
      const timeout: Promise<typeof TIMED_OUT> = this.clock.sleep(this.timeoutMs, abort.signal).then(
        () => TIMED_OUT,
        () => TIMED_OUT,
      );
      const verdict = await Promise.race([
        channel.push(request, abort.signal, gate && ((p) => gate.report(p.bytes))),
        timeout,
      ]);
      if (verdict === TIMED_OUT) {
        return failure(
          `client ${clientId} did not answer within ${spoken(this.timeoutMs)}; the push was abandoned`,
        );
      }
      return verdict;
    } catch (e) {
      return { unreachable: true, message: `client ${clientId} was lost during the push: ${messageOf(e)}` };
    } finally {
      gate?.close();
      abort.abort(PUSH_OVER);
      this.transfers.revoke(clientId, request.sourceName);
    }
  }
}

/** The outcome of a verdict as it is stored and broadcast: the file's path and size only when it was placed. */
export function outcomeOf(clientId: string, upload: AcceptedUpload, v: PushVerdict): PushOutcome {
  // A check places nothing, whatever it would do.
  const placed = v.status === 'success' && !upload.check;
  return {
    client_id: clientId,
    uuid: upload.staged.uuid,
    filepath: placed ? upload.destination : '',
    size: placed ? upload.staged.size : 0,
    message: v.message,
    status: v.status,
    changed: changedOf(v.status, v.changed),
    ...(v.backup === undefined ? {} : { backup: v.backup }),
    ...(v.diff === undefined ? {} : { diff: v.diff }),
  };
}

/** A duration as a sysadmin reads it: whole seconds from 1 s up, milliseconds below (never "0 s"). */
export function spoken(ms: number): string {
  return ms >= 1000 ? `${Math.round(ms / 1000)} s` : `${ms} ms`;
}
