/**
 * The handshake queue: how many connections run their SSH key exchange at once, how many one
 * address may have before login, the paused connections waiting for a slot, and each one's
 * deadline. It is separate because its rules (when a slot frees, what a waiting stream must not
 * do, who is dropped at accept) hold whatever the connection then says.
 */
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { Logger } from '../../../ports/logger.ts';
import { AddressList, sourceKey } from '../../auth/address-list.ts';
import { RateLimitedWarnings } from '../../http/rate-limited-warnings.ts';
import type { AgentListenerSettings } from './listener-settings.ts';

type QueueSettings = Pick<
  AgentListenerSettings,
  | 'handshakeTimeoutMs'
  | 'maxHandshakes'
  | 'maxQueuedHandshakes'
  | 'maxHandshakesPerAddress'
  | 'handshakeCapExempt'
>;

/**
 * One connection from its accept on: its timer is the deadline counted from accept (queue wait
 * included) until login, then the hello's.
 */
export interface Peer {
  address: string;
  handshaking: boolean;
  timer: NodeJS.Timeout;
}

interface Waiting {
  peer: Peer;
  /** Stops watching for the first bytes. */
  unwatch: () => void;
}

export class HandshakeQueue {
  private readonly peers = new WeakMap<Duplex, Peer>();
  private readonly live = new Set<Duplex>();
  private handshaking = 0;
  /** Accepted connections that have not sent a byte yet: they take no slot (see admit). */
  private readonly silent = new Map<Duplex, Waiting>();
  /** Connections that have spoken and wait for a slot, in the order they spoke. */
  private readonly speaking = new Map<Duplex, Waiting>();
  /** Connections not yet logged in (queued or handshaking), by source address (sourceKey). */
  private readonly perAddress = new Map<string, number>();
  /** The peers counted in perAddress: each is uncounted once, at login or close. */
  private readonly unfinished = new Set<Peer>();
  private readonly exempt: AddressList;
  /** Anyone on the network can cause these drops: a flood writes a few lines, not one per socket. */
  private readonly drops: RateLimitedWarnings | undefined;
  private stopped = false;

  /**
   * inject gets a stream once it has a slot, its first bytes buffered: it hands it to ssh2, or to
   * another protocol on the same port and then calls release.
   */
  constructor(
    private readonly settings: QueueSettings,
    private readonly inject: (stream: Duplex) => void,
    logger?: Logger,
  ) {
    this.exempt = new AddressList(settings.handshakeCapExempt);
    this.drops = logger && new RateLimitedWarnings(logger, 'SSH connection dropped before login');
  }

  /** True once close() ran: nothing is admitted any more. */
  get closed(): boolean {
    return this.stopped;
  }

  /**
   * Takes an accepted stream, or drops it: its address already has maxHandshakesPerAddress
   * connections before login, or the slots and the queue are full. Its deadline starts now and does not restart
   * when it gets a slot, so a connection lives at most handshakeTimeoutMs before login, however
   * long it waited. It takes a slot only once it has sent its first bytes (an SSH client sends
   * its identification at once, RFC 4253 4.2): the slots bound key-exchange CPU, which a silent
   * socket does not use, and without this rule silent sockets holding every slot until their
   * deadline keep every agent behind them waiting as long.
   */
  admit(stream: Duplex, address: string): void {
    const { maxHandshakes, maxQueuedHandshakes, maxHandshakesPerAddress, handshakeTimeoutMs } = this.settings;
    if (this.atAddressCap(address))
      return this.drop(
        stream,
        address,
        `more than ${maxHandshakesPerAddress} from this address before login`,
      );
    // Slots plus queue in all, spoken or not: the bound is the one it was when any connection took a free slot at once.
    if (this.handshaking + this.queued >= maxHandshakes + maxQueuedHandshakes)
      return this.drop(stream, address, `the handshake queue is full (${maxQueuedHandshakes} waiting)`);
    stream.on('error', () => undefined);
    // Paused: nothing is read for ssh2 before it has the stream (it resumes it itself).
    stream.pause();
    const peer: Peer = {
      address,
      handshaking: false,
      timer: setTimeout(
        () => this.drop(stream, address, `no login within ${handshakeTimeoutMs / 1000} s`),
        handshakeTimeoutMs,
      ),
    };
    this.peers.set(stream, peer);
    this.live.add(stream);
    this.unfinished.add(peer);
    const key = sourceKey(address);
    this.perAddress.set(key, (this.perAddress.get(key) ?? 0) + 1);
    stream.once('close', () => {
      this.live.delete(stream);
      this.leaveQueue(stream);
      this.handshakeOver(peer);
    });
    this.waitForBytes(stream, peer);
  }

  /** Connections accepted and not yet handshaking (silent, or waiting for a slot). */
  get queued(): number {
    return this.silent.size + this.speaking.size;
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

  /** The peer logged in, or closed: its deadline ends, and its slot goes to the next waiting connection. */
  handshakeOver(peer: Peer): void {
    if (this.unfinished.delete(peer)) {
      clearTimeout(peer.timer);
      const key = sourceKey(peer.address);
      const left = (this.perAddress.get(key) ?? 1) - 1;
      if (left > 0) this.perAddress.set(key, left);
      else this.perAddress.delete(key);
    }
    if (!peer.handshaking) return;
    peer.handshaking = false;
    this.handshaking -= 1;
    this.startNextHandshake();
  }

  /**
   * The stream, handed to inject, turned out not to be SSH and went to another protocol's own bounds:
   * its slot, its place in its address's count and its deadline go now. close() still drops it, as
   * the listener's server waits for every connection it accepted.
   */
  release(stream: Duplex): void {
    const peer = this.peers.get(stream);
    if (!peer) return;
    this.peers.delete(stream);
    this.handshakeOver(peer);
  }

  /** Admits nothing more and drops every connection, waiting or in. */
  close(): void {
    this.stopped = true;
    for (const s of [...this.live]) s.destroy();
    this.live.clear();
  }

  /**
   * Loopback is exempt by default (handshakeCapExempt): a reverse proxy, a WebSocket front or a
   * bench puts every agent on one local address, and a local attacker has easier ways in than
   * a socket storm. The queue's size and the deadline still bound those addresses.
   */
  private atAddressCap(address: string): boolean {
    if (this.exempt.has(address)) return false;
    return (this.perAddress.get(sourceKey(address)) ?? 0) >= this.settings.maxHandshakesPerAddress;
  }

  private drop(stream: Duplex, address: string, reason: string): void {
    this.drops?.warn({ address, reason });
    stream.destroy();
  }

  private waitForBytes(stream: Duplex, peer: Peer): void {
    if (stream.readableLength > 0) return this.spoke(stream, { peer, unwatch: () => undefined });
    // A 'readable' listener reads into the stream's buffer without consuming: ssh2 gets every byte.
    const onReadable = (): void => {
      const entry = this.silent.get(stream);
      if (!entry) return;
      this.silent.delete(stream);
      this.spoke(stream, entry);
    };
    stream.on('readable', onReadable);
    this.silent.set(stream, { peer, unwatch: () => stream.off('readable', onReadable) });
  }

  private spoke(stream: Duplex, entry: Waiting): void {
    entry.unwatch();
    this.speaking.set(stream, entry);
    this.startNextHandshake();
  }

  private leaveQueue(stream: Duplex): void {
    this.silent.get(stream)?.unwatch();
    this.silent.delete(stream);
    this.speaking.delete(stream);
  }

  /** A slot is free or a connection spoke: the connections that spoke first take the free slots. */
  private startNextHandshake(): void {
    while (!this.stopped && this.handshaking < this.settings.maxHandshakes) {
      const next = this.speaking.entries().next();
      if (next.done) return;
      const [stream, { peer }] = next.value;
      this.speaking.delete(stream);
      if (stream.destroyed) continue;
      // No resume() here: ssh2 resumes the socket itself once its 'data' listener is on (a resume now would lose the bytes).
      this.startHandshake(stream, peer);
    }
  }

  private startHandshake(stream: Duplex, peer: Peer): void {
    (stream as Partial<Socket>).setNoDelay?.(true);
    this.handshaking += 1;
    peer.handshaking = true;
    this.inject(stream);
  }
}
