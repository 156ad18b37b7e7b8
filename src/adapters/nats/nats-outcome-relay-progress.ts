import { PROGRESS_STEPS, type TransferProgress } from '../../domain/transfer-progress.ts';

/** Pushes followed at once; past this the oldest is forgotten (its next progress starts a fresh count). */
const TRACKED_PUSHES = 10_000;

interface Seen {
  count: number;
  bytes: number;
}

/**
 * The per-push limits of progress, kept again for progress that comes from other nodes: at most
 * PROGRESS_STEPS messages per node, upload and client, each further on than the last. The node that
 * pushed already kept them (ReportProgress); these hold whatever else publishes on the bus.
 */
export class ProgressAllowance {
  private readonly seen = new Map<string, Seen>();

  constructor(private readonly tracked = TRACKED_PUSHES) {}

  /** Whether this progress may reach listeners; counts it when it may. */
  take(node: string, p: TransferProgress): boolean {
    const key = keyOf(node, p.uuid, p.client_id);
    const s = this.seen.get(key);
    if (s === undefined) {
      if (this.seen.size >= this.tracked) this.seen.delete(this.seen.keys().next().value!);
      this.seen.set(key, { count: 1, bytes: p.bytes });
      return true;
    }
    if (s.count >= PROGRESS_STEPS || p.bytes <= s.bytes) return false;
    s.count++;
    s.bytes = p.bytes;
    return true;
  }

  /** The push to this client ended (its outcome came): nothing more to follow. */
  end(node: string, uuid: string, clientId: string): void {
    this.seen.delete(keyOf(node, uuid, clientId));
  }

  get size(): number {
    return this.seen.size;
  }
}

const keyOf = (node: string, uuid: string, clientId: string): string =>
  `${node}\u0000${uuid}\u0000${clientId}`;
