import {
  ClosedConnectionError,
  ConnectionError,
  DrainingConnectionError,
  NoRespondersError,
  RequestError,
  TimeoutError,
} from '@nats-io/transport-node';
import { JetStreamApiError } from '@nats-io/jetstream';
import { SharedStagingUnavailableError } from '../../ports/shared-staged-files.ts';

/** JetStream's "wrong last sequence": a conditional publish found the subject changed. */
const WRONG_LAST_SEQUENCE = 10071;
/** JetStream is not enabled on the server (or not for this account). */
const JETSTREAM_NOT_ENABLED = [10039, 10076];

/** An Error with a node-style `code`, as node:fs throws and the domain checks (errorCode). */
export function codedError(code: string, message: string): Error & { code: string } {
  return Object.assign(new Error(`${code}: ${message}`), { code });
}

/** Whether e means NATS is out of reach now (down, restarting, cut off), not that it refused a request. */
export function isOutage(e: unknown): boolean {
  return (
    e instanceof TimeoutError ||
    e instanceof ConnectionError ||
    e instanceof NoRespondersError ||
    e instanceof ClosedConnectionError ||
    e instanceof DrainingConnectionError ||
    e instanceof RequestError ||
    (e instanceof JetStreamApiError && JETSTREAM_NOT_ENABLED.includes(e.code))
  );
}

/**
 * The error to show for a failed NATS call: an outage becomes SharedStagingUnavailableError naming
 * `[cluster] nats_url` (the setting to check); a lost conditional publish becomes EEXIST; anything
 * else (the content's own error, a refusal) goes on unchanged.
 */
export function natsFailure(e: unknown, url: string, doing: string): unknown {
  if (e instanceof SharedStagingUnavailableError) return e;
  if (isOutage(e))
    return new SharedStagingUnavailableError(
      `staged files: cannot ${doing}: NATS at ${url} ([cluster] nats_url) is unreachable (${(e as Error).message})`,
      { cause: e },
    );
  if (e instanceof JetStreamApiError && e.code === WRONG_LAST_SEQUENCE)
    return codedError('EEXIST', `staged files: cannot ${doing}: another node published it first`);
  return e;
}
