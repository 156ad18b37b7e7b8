import type { PushVerdict } from '../../domain/outcome.ts';
import type { PushRequest } from '../../domain/push-request.ts';
import type { ClientChannel, ClientChannels, PushProgress } from '../../ports/client-channel.ts';
import type { Clock } from '../../ports/clock.ts';
import { errnoError } from './errno-error.ts';
import { InMemoryLink } from './in-memory-link.ts';

/** The agent's side of a push: ReceiveFile has this shape. */
interface PushReceiver {
  execute(request: PushRequest, onProgress?: (bytes: number) => void): Promise<PushVerdict>;
}

export interface ChannelFaults {
  /** The agent never answers (only an abort or a disconnect ends the push). */
  silent?: boolean;
  /** Virtual one-way latency of the request and of the answer; needs a clock. */
  latencyMs?: number;
}

/** A ClientChannel that calls an agent's ReceiveFile directly, over an InMemoryLink. */
export class InMemoryClientChannel implements ClientChannel {
  private readonly running = new Set<Promise<unknown>>();

  constructor(
    private readonly agent: PushReceiver,
    readonly link: InMemoryLink = new InMemoryLink(),
    private readonly opts: { clock?: Clock; faults?: ChannelFaults } = {},
  ) {}

  get connected(): boolean {
    return this.link.up;
  }

  push(
    request: PushRequest,
    signal: AbortSignal,
    onProgress?: (p: PushProgress) => void,
  ): Promise<PushVerdict> {
    return new Promise<PushVerdict>((resolve, reject) => {
      if (!this.link.up) return reject(errnoError('ENOTCONN', `not connected (${this.link.downReason})`));
      if (signal.aborted) return reject(signal.reason);
      const offDown = this.link.onDown((reason) => finish(() => reject(errnoError('ECONNRESET', reason))));
      const onAbort = (): void => finish(() => reject(signal.reason));
      signal.addEventListener('abort', onAbort, { once: true });
      let done = false;
      const finish = (settle: () => void): void => {
        if (done) return;
        done = true;
        offDown();
        signal.removeEventListener('abort', onAbort);
        settle();
      };
      if (this.opts.faults?.silent) return;
      const work = this.deliver(structuredClone(request), onProgress).then(
        (verdict) =>
          finish(() =>
            this.link.up ? resolve(verdict) : reject(errnoError('ECONNRESET', this.link.downReason)),
          ),
        (e: unknown) => finish(() => reject(e)),
      );
      this.running.add(work);
      void work.finally(() => this.running.delete(work));
    });
  }

  /** Settles when every push the agent started has finished on the agent's side. */
  async idle(): Promise<void> {
    while (this.running.size > 0) await Promise.allSettled([...this.running]);
  }

  private async deliver(request: PushRequest, onProgress?: (p: PushProgress) => void): Promise<PushVerdict> {
    const latency = this.opts.faults?.latencyMs ?? 0;
    if (latency) await this.opts.clock?.sleep(latency);
    const verdict = await this.agent.execute(request, (bytes) => onProgress?.({ bytes }));
    if (latency) await this.opts.clock?.sleep(latency);
    return verdict;
  }
}

/** The connected clients' channels, by client id. A channel whose link dropped counts as gone. */
export class InMemoryClientChannels implements ClientChannels {
  private readonly channels = new Map<string, ClientChannel>();

  connect(clientId: string, channel: ClientChannel): void {
    this.channels.set(clientId, channel);
  }

  disconnect(clientId: string): void {
    this.channels.delete(clientId);
  }

  channelFor(clientId: string): ClientChannel | undefined {
    const c = this.channels.get(clientId);
    if (c instanceof InMemoryClientChannel && !c.connected) return undefined;
    return c;
  }
}
