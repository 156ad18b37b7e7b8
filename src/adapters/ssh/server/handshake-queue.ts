/**
 * The handshake queue: how many connections run their SSH key exchange at once, and the paused
 * connections waiting for a slot. It is separate because its rules (when a slot frees, what a
 * waiting stream must not do) hold whatever the connection then says.
 */
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { AgentListenerSettings } from './listener-settings.ts';

type QueueSettings = Pick<
  AgentListenerSettings,
  'handshakeTimeoutMs' | 'maxHandshakes' | 'maxQueuedHandshakes'
>;

/** One connection from its handshake on: its timer is the handshake's deadline, then the hello's. */
export interface Peer {
  address: string;
  handshaking: boolean;
  timer: NodeJS.Timeout;
}

interface Waiting {
  stream: Duplex;
  address: string;
  leave: () => void;
}

export class HandshakeQueue {
  private readonly peers = new WeakMap<Duplex, Peer>();
  private readonly live = new Set<Duplex>();
  private handshaking = 0;
  /** Accepted connections waiting for a handshake slot, oldest first; each leaves on its own close. */
  private readonly waiting = new Set<Waiting>();
  private stopped = false;

  /** inject hands a stream to ssh2 once it has a slot. */
  constructor(
    private readonly settings: QueueSettings,
    private readonly inject: (stream: Duplex) => void,
  ) {}

  /** True once close() ran: nothing is admitted any more. */
  get closed(): boolean {
    return this.stopped;
  }

  /** Starts the stream's handshake now if a slot is free, else queues it (or drops it, the queue being full). */
  admit(stream: Duplex, address: string): void {
    if (this.handshaking < this.settings.maxHandshakes) return this.startHandshake(stream, address);
    // Over the cap: wait, paused, for a slot instead of being dropped (an agent dropped here backs off for seconds).
    if (this.waiting.size >= this.settings.maxQueuedHandshakes) return void stream.destroy();
    stream.pause();
    const timer = setTimeout(() => stream.destroy(), this.settings.handshakeTimeoutMs);
    const entry: Waiting = {
      stream,
      address,
      leave: () => {
        clearTimeout(timer);
        stream.off('close', entry.leave);
        this.waiting.delete(entry);
      },
    };
    this.waiting.add(entry);
    stream.once('close', entry.leave);
    stream.on('error', () => undefined);
  }

  /** Connections waiting for a handshake slot now. */
  get queued(): number {
    return this.waiting.size;
  }

  /** The record of the stream ssh2 was given; a stream that never came through here gets a fresh one. */
  peerOf(stream: Duplex, ip: string | undefined): Peer {
    return (
      this.peers.get(stream) ?? {
        address: ip ?? 'unknown',
        handshaking: false,
        timer: setTimeout(() => undefined, 0),
      }
    );
  }

  /** The peer's handshake ended (logged in, or closed): its slot goes to the next waiting connection. */
  handshakeOver(peer: Peer): void {
    if (!peer.handshaking) return;
    peer.handshaking = false;
    clearTimeout(peer.timer);
    this.handshaking -= 1;
    this.startNextHandshake();
  }

  /** Admits nothing more and drops every connection, waiting or in. */
  close(): void {
    this.stopped = true;
    for (const { stream } of [...this.waiting]) stream.destroy();
    for (const s of this.live) s.destroy();
    this.live.clear();
  }

  /** A handshake slot freed: the oldest waiting connection takes it. */
  private startNextHandshake(): void {
    while (!this.stopped && this.handshaking < this.settings.maxHandshakes) {
      const next = this.waiting.values().next();
      if (next.done) return;
      const { stream, address, leave } = next.value;
      leave();
      if (stream.destroyed) continue;
      // No resume() here: ssh2 resumes the socket itself once its 'data' listener is on (a resume now would lose the bytes).
      this.startHandshake(stream, address);
    }
  }

  private startHandshake(stream: Duplex, address: string): void {
    (stream as Partial<Socket>).setNoDelay?.(true);
    this.handshaking += 1;
    const peer: Peer = {
      address,
      handshaking: true,
      timer: setTimeout(() => stream.destroy(), this.settings.handshakeTimeoutMs),
    };
    this.peers.set(stream, peer);
    this.live.add(stream);
    stream.once('close', () => {
      this.live.delete(stream);
      this.handshakeOver(peer);
    });
    stream.on('error', () => undefined);
    this.inject(stream);
  }
}
