import { checkDestination, flavorOf } from './destination.ts';
import { parseMode, SPECIAL_MODE_BITS, specialBitsIn } from './file-mode.ts';
import { ownershipProblem, type Ownership } from './ownership.ts';
import { ProtectedPaths } from './protected-paths.ts';
import { hasTargets, type TargetSelector } from './target-selector.ts';
import { parseGoBool, parsePushExtras, parseTagsField, parseUploadId } from './upload-field-values.ts';
import { passed, refused, type OrRefused, type Refused } from './upload-rejection.ts';

/** The server's own first line of defence; the agent's protected paths are the real one. */
const SERVER_DENIED_DESTINATIONS = ['/proc', '/sys', '/dev', '/run'];
const serverDenied = new ProtectedPaths(SERVER_DENIED_DESTINATIONS, 'posix');

/** The fields the upload reads; openrport ignores any other, and so do we (the adapter names them). */
export const FORM_FIELDS = [
  'upload',
  'client_id',
  'group_id',
  'tags',
  'id',
  'dest',
  'force',
  'sync',
  'mode',
  'user',
  'group',
  'validate',
  'backup',
  'offline_ttl',
  'check',
  'diff',
];

export interface UploadParameters {
  destination: string;
  force: boolean;
  sync: boolean;
  mode?: number;
  ownership: Ownership;
  targets: TargetSelector;
  /** Seconds an offline target waits for its client; undefined takes `[server] offline_ttl`. */
  offlineTtl?: number;
  /** The caller's uuid for the upload (openrport's `id`), a well-formed UUID. */
  id?: string;
  /** A validator's name on the agents (`[file-reception.validators]`); never a command. */
  validate?: string;
  /** Keep the replaced file as a backup; absent leaves it to each agent's `[file-reception] backup`. */
  backup?: boolean;
  /** Check mode: the agents say what they would do and change nothing. */
  check: boolean;
  /** Each outcome carries a unified diff of the old file against the new one (when the host allows). */
  diff: boolean;
}

const invalid = (field: string, detail: string): Refused => refused('invalid', field, detail);

/** The server's own rules for field values, from rportd.conf. */
export interface FieldRules {
  /** `[server] allow_special_bits`: false refuses setuid, setgid and sticky modes for every user. */
  allowSpecialBits: boolean;
}

const ALLOW_ALL: FieldRules = { allowSpecialBits: true };

/**
 * Validates the text fields of an upload form, naming the field at fault. As in openrport (Go's
 * form values), unknown fields are ignored and a repeated single-valued field counts by its first value.
 */
export function parseUploadFields(
  fields: Map<string, string[]>,
  rules: FieldRules = ALLOW_ALL,
): OrRefused<UploadParameters> {
  const one = (name: string): string | undefined => fields.get(name)?.[0];
  const rawDest = one('dest');
  const dest = checkDestination(rawDest);
  // A dest that is there but refused is openrport's BAD_DESTINATION; a missing one a plain bad field.
  if (!dest.ok) return refused(rawDest ? 'bad-destination' : 'invalid', 'dest', dest.problem);
  if (flavorOf(dest.normalized) === 'posix') {
    const denied = serverDenied.refusingNormalized(dest.normalized);
    if (denied)
      return refused(
        'bad-destination',
        'dest',
        `dest "${rawDest}" is under ${denied}, which the server never writes to`,
      );
  }
  const force = parseGoBool('force', one('force'));
  if (!force.ok) return force;
  const sync = parseGoBool('sync', one('sync'));
  if (!sync.ok) return sync;
  const mode = parseMode(one('mode'));
  if (mode.problem) return invalid('mode', mode.problem);
  if (mode.mode !== undefined && mode.mode & SPECIAL_MODE_BITS && !rules.allowSpecialBits)
    return invalid(
      'mode',
      `mode "${one('mode')}" asks for ${specialBitsIn(mode.mode)}, which this server refuses ([server] allow_special_bits = false in rportd.conf)`,
    );
  const ownership: Ownership = { user: nonEmpty(one('user')), group: nonEmpty(one('group')) };
  const ownerProblem = ownershipProblem(ownership);
  if (ownerProblem) return invalid(ownerProblem.startsWith('user') ? 'user' : 'group', ownerProblem);
  const targets = targetsOf(fields);
  if (!targets.ok) return targets;
  const id = parseUploadId(one('id'));
  if (!id.ok) return id;
  const extras = parsePushExtras(one);
  if (!extras.ok) return extras;
  const offlineTtl = parseOfflineTtl(one('offline_ttl'));
  if (typeof offlineTtl === 'object') return offlineTtl;
  const preview = checkAndDiffOf(one);
  if (!preview.ok) return preview;
  return passed({
    ...extras.value,
    destination: dest.normalized,
    force: force.value,
    sync: sync.value,
    mode: mode.mode,
    ownership,
    targets: targets.value,
    ...(id.value === undefined ? {} : { id: id.value }),
    ...(offlineTtl === undefined ? {} : { offlineTtl }),
    ...preview.value,
  });
}

/** The longest offline_ttl a push may ask for: 30 days. */
export const MAX_OFFLINE_TTL = 30 * 86_400;

function parseOfflineTtl(value: string | undefined): number | undefined | Refused {
  if (value === undefined || value.trim() === '') return undefined;
  const v = value.trim();
  if (!/^\d{1,8}$/.test(v) || Number(v) > MAX_OFFLINE_TTL)
    return invalid(
      'offline_ttl',
      `offline_ttl "${value.slice(0, 40)}" is not a whole number of seconds from 0 to ${MAX_OFFLINE_TTL} (30 days)`,
    );
  return Number(v);
}

/** check and diff (issue 20): Go booleans, as force and sync. */
function checkAndDiffOf(
  one: (name: string) => string | undefined,
): OrRefused<{ check: boolean; diff: boolean }> {
  const check = parseGoBool('check', one('check'));
  if (!check.ok) return check;
  const diff = parseGoBool('diff', one('diff'));
  if (!diff.ok) return diff;
  return passed({ check: check.value, diff: diff.value });
}

/** client_id and group_id (repeatable), or else tags: openrport refuses tags beside either. */
function targetsOf(fields: Map<string, string[]>): OrRefused<TargetSelector> {
  const tags = parseTagsField(fields.get('tags'));
  if (!tags.ok) return tags;
  if (tags.value && (fields.has('client_id') || fields.has('group_id')))
    return invalid(
      'tags',
      'tags cannot be combined with client_id or group_id: multiple targeting options are not supported, specify only one',
    );
  const targets = { clientIds: unique(fields.get('client_id')), groupIds: unique(fields.get('group_id')) };
  if (tags.value) return passed({ ...targets, tags: tags.value });
  if (!hasTargets(targets))
    return invalid('client_id', 'no target: give at least one client_id or group_id, or tags');
  return passed(targets);
}

const nonEmpty = (v: string | undefined): string | undefined =>
  v === undefined || v.trim() === '' ? undefined : v.trim();
const unique = (v: string[] | undefined): string[] => [
  ...new Set((v ?? []).map((s) => s.trim()).filter((s) => s !== '')),
];
