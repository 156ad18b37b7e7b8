import { PerformanceObserver, constants } from 'node:perf_hooks';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

type Gc = (options?: { type?: 'minor' | 'major'; execution?: 'sync' | 'async' }) => void;

/** Bytes received between two young-generation collections: the floating garbage stays about this size times ssh2's copies. */
const SCAVENGE_EVERY = 2 * 1024 * 1024;
/**
 * rportd: bytes sent over SFTP (all agents together) between two collections. ssh2 copies each READ's
 * answer into a packet and encrypts it into another; in a fan-out to 1000 agents that garbage raised
 * rportd's peak, which a scavenge every 8 MiB lowers at no cost in time (docs/benchmarks.md, "Fan-out").
 */
export const SERVER_SCAVENGE_EVERY = 8 * 1024 * 1024;

/** How many young-generation collections this process has seen, whatever started them. */
interface ScavengeCount {
  readonly count: number;
  /** Counts a scavenge a pacer forced, at once (the observer skips forced ones: it hears of them late). */
  forced(): void;
}

/**
 * Runs a young-generation GC (a scavenge, well under a millisecond for one agent) once SCAVENGE_EVERY
 * bytes have gone through since the process's last scavenge, V8's own or a pacer's. Why: ssh2
 * allocates about three short-lived buffers for every byte it receives (the socket chunk, the
 * decrypted packet, the assembled SFTP packet), each tied to a tiny JS object. V8 starts a scavenge on
 * JS heap pressure and collects dead external memory only at its external limit, so a long transfer
 * floated far more dead buffers than the live memory of an agent whose own memory is fixed; the pacer
 * is what brought a 1 GiB push under issue 4's budget (docs/benchmarks.md, "Agent memory").
 *
 * Counting from the last scavenge of any cause, not from the pacer's own: any scavenge collects the
 * same dead buffers, so one forced right after V8's own is wasted work (docs/benchmarks.md, "Fan-out":
 * a process holding many agents forced a scavenge of its whole heap for every agent's share).
 */
export class ScavengePacer {
  private sinceLast = 0;
  private seen: number;

  constructor(
    private readonly every = SCAVENGE_EVERY,
    private readonly gc: Gc | undefined = exposeGc(),
    private readonly scavenges: ScavengeCount = processScavenges(),
  ) {
    this.seen = scavenges.count;
  }

  /** Counts bytes that went through ssh2 (received by the agent, sent by rportd); scavenges every `every` bytes. */
  moved(bytes: number): void {
    if (this.scavenges.count !== this.seen) {
      this.seen = this.scavenges.count;
      this.sinceLast = 0;
    }
    this.sinceLast += bytes;
    if (this.sinceLast < this.every || !this.gc) return;
    this.sinceLast = 0;
    this.gc({ type: 'minor' });
    this.scavenges.forced();
    this.seen = this.scavenges.count;
  }
}

let observed: ScavengeCount | undefined;

/**
 * The process's scavenges: V8's own, counted by one gc observer started on first use, and the pacers'
 * forced ones, counted when forced. The observer hears of a scavenge only once this thread is free
 * (well after a forced one when the thread is busy), and a pacer then drops the bytes it
 * counted since, so after V8's own it may force the next one a little late. A pacer's own scavenges
 * are counted at once instead: heard late, each pacer would count from later than its own every time.
 */
export function processScavenges(): ScavengeCount {
  if (observed) return observed;
  let count = 0;
  const counter: ScavengeCount = {
    get count() {
      return count;
    },
    forced: () => void (count += 1),
  };
  observed = counter;
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      const detail = (e as unknown as { detail?: { kind?: number; flags?: number } }).detail;
      const forced = ((detail?.flags ?? 0) & constants.NODE_PERFORMANCE_GC_FLAGS_FORCED) !== 0;
      if (detail?.kind === constants.NODE_PERFORMANCE_GC_MINOR && !forced) count += 1;
    }
  }).observe({ entryTypes: ['gc'] });
  return counter;
}

let exposed: { gc: Gc | undefined } | undefined;

/**
 * V8's gc() without starting node with --expose-gc: the flag set at run time shows it in a new context.
 * Found once per process: a new context is not free, and a fleet builds a pacer per agent.
 */
function exposeGc(): Gc | undefined {
  exposed ??= { gc: findGc() };
  return exposed.gc;
}

function findGc(): Gc | undefined {
  const existing = (globalThis as { gc?: Gc }).gc;
  if (existing) return existing;
  try {
    setFlagsFromString('--expose-gc');
    return runInNewContext('gc') as Gc;
  } catch {
    return undefined; // a runtime without it: transfers work the same, with more floating garbage
  }
}
