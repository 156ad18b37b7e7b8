import type { PushVerdict } from '../../domain/outcome.ts';
import type { PushRequest } from '../../domain/push-request.ts';
import type { Logger } from '../../ports/logger.ts';

/**
 * The agent's account of its pushes, one line each: what was placed, what was left alone, what was
 * refused or failed, and which file a backup kept. The server logs the same outcome by client; this
 * side names the host's own view (the mode asked for, a crash the server only sees as a message).
 */
export class PushLog {
  constructor(private readonly logger: Logger) {}

  verdict(req: PushRequest, verdict: PushVerdict): void {
    const { changed } = verdict as { changed?: unknown };
    const fields = {
      uuid: req.uuid,
      dest: req.destination,
      status: verdict.status,
      size: req.size,
      ...(typeof changed === 'boolean' ? { changed } : {}),
      detail: verdict.message,
    };
    // A check changes nothing, whatever its verdict; its diff (file content) is never logged.
    if (req.check) this.logger.info({ ...fields, check: true }, `checked ${req.destination}`);
    else if (verdict.status === 'success') this.logger.info(fields, `placed ${req.destination}`);
    else if (verdict.status === 'ignored') this.logger.info(fields, `left ${req.destination} as it is`);
    else this.logger.warn(fields, `push to ${req.destination} refused or failed`);
  }

  /** The use case threw: a fault, not a verdict (the connection still answers the server). */
  crashed(req: PushRequest, err: unknown): void {
    this.logger.error(
      { uuid: req.uuid, dest: req.destination, status: 'error', err: (err as Error)?.message ?? String(err) },
      `push to ${req.destination} failed unexpectedly`,
    );
  }

  cancelled(req: PushRequest): void {
    this.logger.info({ uuid: req.uuid, dest: req.destination }, 'the server gave up on this push');
  }

  backedUp(dest: string, backup: string): void {
    this.logger.info({ dest, backup }, `kept the file it replaces as ${backup}`);
  }
}
