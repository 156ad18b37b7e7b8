import type { Clock } from '../ports/clock.ts';
import type { ProgressBroadcaster } from '../ports/progress-broadcaster.ts';
import type { AcceptedUpload } from './accepted-upload.ts';
import { PROGRESS_STEPS, reportsProgress, SERVER_PROGRESS_EVERY_MS } from './transfer-progress.ts';

/** The progress of one push to one client while it is live; what passes its rules reaches listeners. */
export interface ProgressGate {
  /** A count of bytes the client says it has received. */
  report(bytes: number): void;
  /** The push is over: later reports are ignored, so none follows the outcome. */
  close(): void;
}

const SHUT: ProgressGate = { report: () => undefined, close: () => undefined };

/**
 * Server: passes a client's progress on to listeners, bounded whatever the client sends. A report
 * counts only while its push is live, only for a file that reports progress at all, only when its
 * bytes moved on by a step (1/PROGRESS_STEPS of the size), and at most once per
 * SERVER_PROGRESS_EVERY_MS; bytes beyond the size count as the size. So one push and client gives
 * listeners at most PROGRESS_STEPS messages, whatever the agent sends.
 */
export class ReportProgress {
  constructor(
    private readonly broadcaster: ProgressBroadcaster,
    private readonly clock: Clock,
  ) {}

  /** The gate of one push of upload to clientId, open until close(). */
  open(upload: AcceptedUpload, clientId: string): ProgressGate {
    const { uuid, size } = upload.staged;
    if (!reportsProgress(size)) return SHUT;
    const step = Math.ceil(size / PROGRESS_STEPS);
    let live = true;
    let sent = 0;
    let sentAt = -Infinity;
    return {
      report: (reported) => {
        if (!live || typeof reported !== 'number' || !(reported >= 0)) return;
        const bytes = Math.min(size, Math.floor(reported));
        if (bytes - sent < step) return;
        const now = this.clock.now().getTime();
        if (now - sentAt < SERVER_PROGRESS_EVERY_MS) return;
        sent = bytes;
        sentAt = now;
        this.broadcaster.progress({ uuid, client_id: clientId, bytes, size }, upload.requestedBy);
      },
      close: () => {
        live = false;
      },
    };
  }
}
