import type { TransferProgress } from '../domain/transfer-progress.ts';

/** Live listeners (WebSocket) that asked for transfer progress. */
export interface ProgressBroadcaster {
  /** `requestedBy` is the user who made the upload: it decides who may see it, as for outcomes. */
  progress(p: TransferProgress, requestedBy: string): void;
}
