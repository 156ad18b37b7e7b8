import type { ServerChannel } from 'ssh2';
import type { ClientChannel, PushProgress } from '../../../ports/client-channel.ts';
import { changedOf, failure, type PushVerdict } from '../../../domain/outcome.ts';
import type { PushRequest } from '../../../domain/push-request.ts';
import { TLS_FETCH_FEATURE, type FetchOffer } from '../../tls/fetch-offer.ts';
import { encodeLine, isOutcomeStatus, type ServerMessage } from '../protocol.ts';

interface Pending {
  request: PushRequest;
  resolve: (v: PushVerdict) => void;
  reject: (e: Error) => void;
  onProgress?: (p: PushProgress) => void;
  detach: () => void;
}

/** Server side of one agent's control channel: sends pushes, settles them on the agent's result. */
export class AgentConnection implements ClientChannel {
  private readonly pending = new Map<string, Pending>();
  private nextId = 1;
  private lostReason: string | undefined;
  private readonly settledListeners: ((stagedName: string) => void)[] = [];
  /** Makes a TLS fetch offer for a push (set when rportd's file TLS listener is on). */
  private offerOf: ((request: PushRequest) => FetchOffer | undefined) | undefined;

  constructor(
    readonly clientId: string,
    private readonly control: ServerChannel,
    /** The optional push fields the agent announced in its hello (check, diff). */
    private readonly features: readonly string[] = [],
  ) {}

  /** Offers each push to an agent that announced `tls-fetch` over TLS too (FileTlsListener). */
  offerFetches(offerOf: (request: PushRequest) => FetchOffer | undefined): void {
    this.offerOf = offerOf;
  }

  push(
    request: PushRequest,
    signal: AbortSignal,
    onProgress?: (p: PushProgress) => void,
  ): Promise<PushVerdict> {
    if (this.lostReason) return Promise.reject(new Error(this.lostReason));
    if (signal.aborted) return Promise.reject(new Error('the push was cancelled'));
    // An agent that does not know check mode would ignore the field and really place the file.
    if (request.check && !this.features.includes('check'))
      return Promise.resolve(
        failure(
          `check: client ${this.clientId} runs an agent without check mode; nothing was sent to it (upgrade rport on that host)`,
        ),
      );
    const reqId = String(this.nextId++);
    return new Promise<PushVerdict>((resolve, reject) => {
      const onAbort = (): void => {
        if (!this.pending.delete(reqId)) return;
        this.settled(request.sourceName);
        this.send({ type: 'cancel', req_id: reqId });
        reject(new Error('the push was cancelled'));
      };
      signal.addEventListener('abort', onAbort, { once: true });
      const detach = (): void => signal.removeEventListener('abort', onAbort);
      this.pending.set(reqId, { request, resolve, reject, onProgress, detach });
      // Older agents are never offered TLS: they fetch by SFTP as before.
      const tls = this.features.includes(TLS_FETCH_FEATURE) ? this.offerOf?.(request) : undefined;
      this.send({ type: 'push', req_id: reqId, request, ...(tls ? { tls } : {}) });
    });
  }

  /** True while a push of that staged name waits for this agent's result: the SFTP server's confinement. */
  isServing(stagedName: string): boolean {
    for (const p of this.pending.values()) if (p.request.sourceName === stagedName) return true;
    return false;
  }

  /** Tells fn the staged name of each push that is over (verdict, cancel, timeout, lost) and no longer served. */
  onSettled(fn: (stagedName: string) => void): void {
    this.settledListeners.push(fn);
  }

  progress(reqId: unknown, bytes: unknown): void {
    const p = typeof reqId === 'string' ? this.pending.get(reqId) : undefined;
    if (p && typeof bytes === 'number' && Number.isFinite(bytes)) p.onProgress?.({ bytes });
  }

  /**
   * changed and diff may be absent: an agent of an older version does not send them; backup is
   * absent when none was kept.
   */
  result(
    reqId: unknown,
    status: unknown,
    message: unknown,
    changed?: unknown,
    diff?: unknown,
    backup?: unknown,
  ): void {
    const p = typeof reqId === 'string' ? this.pending.get(reqId) : undefined;
    if (!p || !isOutcomeStatus(status)) return;
    this.pending.delete(reqId as string);
    this.settled(p.request.sourceName);
    p.detach();
    p.resolve({
      status,
      message: typeof message === 'string' ? message.slice(0, 4096) : '',
      changed: changedOf(status, changed),
      ...diffOf(p.request, diff),
      ...(typeof backup === 'string' && backup !== '' ? { backup: backup.slice(0, 4096) } : {}),
    });
  }

  /** The connection ended: every outstanding push rejects. */
  lost(reason: string): void {
    this.lostReason ??= reason;
    const pending = [...this.pending.values()];
    this.pending.clear();
    for (const p of pending) {
      this.settled(p.request.sourceName);
      p.detach();
      p.reject(new Error(this.lostReason));
    }
  }

  get outstanding(): number {
    return this.pending.size;
  }

  private settled(stagedName: string): void {
    if (this.isServing(stagedName)) return;
    for (const fn of this.settledListeners) fn(stagedName);
  }

  private send(m: ServerMessage): void {
    if (this.control.writable) this.control.write(encodeLine(m));
  }
}

/** The diff field of a result: a string as the agent sent it (the line limit bounds it), or why there is none. */
function diffOf(request: PushRequest, diff: unknown): { diff?: string } {
  if (!request.diff) return {};
  if (typeof diff === 'string') return { diff };
  return { diff: 'no diff: this agent does not make diffs (upgrade rport on that host)' };
}
