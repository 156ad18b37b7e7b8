// The messages nodes exchange on NATS so that WebSocket listeners on every node hear every outcome
// and progress. What comes off the bus is checked field by field before use: any process that can
// publish on the bus could send it, and listeners must get exactly what the node that pushed would
// have sent them.
import type { OutcomeStatus, PushOutcome } from '../../domain/outcome.ts';
import { reportsProgress, type TransferProgress } from '../../domain/transfer-progress.ts';

export const OUTCOME_SUBJECT = 'rport.outcome';
export const PROGRESS_SUBJECT = 'rport.progress';

/**
 * The largest message taken from the bus. NATS's own default limit (max_payload) is this size, so no
 * node sends a bigger one; a bigger one comes from something else and is dropped unread.
 */
export const MAX_EVENT_BYTES = 1024 * 1024;

/** Format version: a node drops a message of another version rather than guess at its fields. */
const VERSION = 1;

/** One event as it travels: the node that published it, whose upload it is, and the event. */
export type ClusterEvent =
  | { node: string; requestedBy: string; outcome: PushOutcome }
  | { node: string; requestedBy: string; progress: TransferProgress };

const STATUSES: readonly OutcomeStatus[] = ['success', 'ignored', 'error'];
const OUTCOME_KEYS = [
  'client_id',
  'uuid',
  'filepath',
  'size',
  'message',
  'status',
  'changed',
  'backup',
  'diff',
];
const PROGRESS_KEYS = ['uuid', 'client_id', 'bytes', 'size'];

/** The wire form of an outcome: only the fields listeners are sent, in the order they are sent. */
export function encodeOutcome(node: string, requestedBy: string, o: PushOutcome): string {
  return JSON.stringify({
    v: VERSION,
    node,
    requested_by: requestedBy,
    outcome: {
      client_id: o.client_id,
      uuid: o.uuid,
      filepath: o.filepath,
      size: o.size,
      message: o.message,
      status: o.status,
      changed: o.changed,
      ...(o.backup === undefined ? {} : { backup: o.backup }),
      ...(o.diff === undefined ? {} : { diff: o.diff }),
    },
  });
}

export function encodeProgress(node: string, requestedBy: string, p: TransferProgress): string {
  return JSON.stringify({
    v: VERSION,
    node,
    requested_by: requestedBy,
    progress: { uuid: p.uuid, client_id: p.client_id, bytes: p.bytes, size: p.size },
  });
}

/** Thrown for a message that is not a valid event; the message says which field is at fault. */
export class BadEventError extends Error {}

const fail = (why: string): never => {
  throw new BadEventError(why);
};

type Obj = Record<string, unknown>;

function object(v: unknown, what: string, keys: string[]): Obj {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return fail(`${what} is not an object`);
  const extra = Object.keys(v).find((k) => !keys.includes(k));
  if (extra !== undefined) return fail(`${what} has an unknown field ${JSON.stringify(extra.slice(0, 64))}`);
  return v as Obj;
}

function text(o: Obj, key: string, what: string, nonEmpty = true): string {
  const v = o[key];
  if (typeof v !== 'string' || (nonEmpty && v === ''))
    return fail(`${what}.${key} is not a${nonEmpty ? ' non-empty' : ''} string`);
  return v;
}

function count(o: Obj, key: string, what: string): number {
  const v = o[key];
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0)
    return fail(`${what}.${key} is not a non-negative integer`);
  return v;
}

function outcomeOf(v: unknown): PushOutcome {
  const o = object(v, 'outcome', OUTCOME_KEYS);
  const status = o.status;
  if (!STATUSES.includes(status as OutcomeStatus)) fail('outcome.status is not success, ignored or error');
  if (typeof o.changed !== 'boolean') fail('outcome.changed is not a boolean');
  const outcome: PushOutcome = {
    client_id: text(o, 'client_id', 'outcome'),
    uuid: text(o, 'uuid', 'outcome'),
    filepath: text(o, 'filepath', 'outcome', false),
    size: count(o, 'size', 'outcome'),
    message: text(o, 'message', 'outcome', false),
    status: status as OutcomeStatus,
    changed: o.changed as boolean,
  };
  if (o.backup !== undefined) outcome.backup = text(o, 'backup', 'outcome');
  if (o.diff !== undefined) outcome.diff = text(o, 'diff', 'outcome', false);
  return outcome;
}

function progressOf(v: unknown): TransferProgress {
  const o = object(v, 'progress', PROGRESS_KEYS);
  const p = {
    uuid: text(o, 'uuid', 'progress'),
    client_id: text(o, 'client_id', 'progress'),
    bytes: count(o, 'bytes', 'progress'),
    size: count(o, 'size', 'progress'),
  };
  // What ReportProgress would never pass on: more bytes than the file, or a file too small to report.
  if (p.bytes > p.size) fail('progress.bytes is over progress.size');
  if (!reportsProgress(p.size)) fail('progress.size is too small to report progress');
  return p;
}

/** The event in data, checked; BadEventError names what is wrong. */
export function decodeEvent(data: Uint8Array): ClusterEvent {
  if (data.length > MAX_EVENT_BYTES) fail(`the message is ${data.length} bytes, over ${MAX_EVENT_BYTES}`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(data.buffer, data.byteOffset, data.length).toString('utf8'));
  } catch {
    return fail('the message is not JSON');
  }
  const e = object(parsed, 'the message', ['v', 'node', 'requested_by', 'outcome', 'progress']);
  if (e.v !== VERSION) fail(`the message's version v is not ${VERSION}`);
  const node = text(e, 'node', 'the message');
  const requestedBy = text(e, 'requested_by', 'the message', false);
  if ((e.outcome === undefined) === (e.progress === undefined))
    fail('the message holds neither or both of outcome and progress');
  return e.outcome !== undefined
    ? { node, requestedBy, outcome: outcomeOf(e.outcome) }
    : { node, requestedBy, progress: progressOf(e.progress) };
}
