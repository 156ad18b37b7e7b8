import { checkDestination, flavorOf } from './destination.ts';
import { parseMode } from './file-mode.ts';
import { ownershipProblem, type Ownership } from './ownership.ts';
import { ProtectedPaths } from './protected-paths.ts';
import { hasTargets, type TargetSelector } from './target-selector.ts';
import { passed, refused, type OrRefused, type Refused } from './upload-rejection.ts';

/** The server's own first line of defence; the agent's protected paths are the real one. */
const SERVER_DENIED_DESTINATIONS = ['/proc', '/sys', '/dev', '/run'];
const serverDenied = new ProtectedPaths(SERVER_DENIED_DESTINATIONS, 'posix');

const FORM_FIELDS = ['upload', 'client_id', 'group_id', 'dest', 'force', 'sync', 'mode', 'user', 'group'];
const SINGLE_FIELDS = ['dest', 'force', 'sync', 'mode', 'user', 'group'];
FORM_FIELDS.push('offline_ttl');
SINGLE_FIELDS.push('offline_ttl');

export interface UploadParameters {
  destination: string;
  force: boolean;
  sync: boolean;
  mode?: number;
  ownership: Ownership;
  targets: TargetSelector;
  /** Seconds an offline target waits for its client; undefined takes `[server] offline_ttl`. */
  offlineTtl?: number;
}

const invalid = (field: string, detail: string): Refused => refused('invalid', field, detail);

/** Validates the text fields of an upload form, naming the field at fault. */
export function parseUploadFields(fields: Map<string, string[]>): OrRefused<UploadParameters> {
  for (const name of fields.keys()) {
    if (!FORM_FIELDS.includes(name))
      return invalid(name, `unknown field "${name}"; expected one of ${FORM_FIELDS.join(', ')}`);
  }
  for (const name of SINGLE_FIELDS) {
    if ((fields.get(name)?.length ?? 0) > 1) return invalid(name, `${name} was given more than once`);
  }
  const one = (name: string): string | undefined => fields.get(name)?.[0];
  const rawDest = one('dest');
  const dest = checkDestination(rawDest);
  if (!dest.ok) return invalid('dest', dest.problem);
  if (flavorOf(dest.normalized) === 'posix') {
    const denied = serverDenied.refusingNormalized(dest.normalized);
    if (denied)
      return invalid('dest', `dest "${rawDest}" is under ${denied}, which the server never writes to`);
  }
  const force = parseBool('force', one('force'));
  if (typeof force !== 'boolean') return force;
  const sync = parseBool('sync', one('sync'));
  if (typeof sync !== 'boolean') return sync;
  const mode = parseMode(one('mode'));
  if (mode.problem) return invalid('mode', mode.problem);
  const ownership: Ownership = { user: nonEmpty(one('user')), group: nonEmpty(one('group')) };
  const ownerProblem = ownershipProblem(ownership);
  if (ownerProblem) return invalid(ownerProblem.startsWith('user') ? 'user' : 'group', ownerProblem);
  const targets = { clientIds: unique(fields.get('client_id')), groupIds: unique(fields.get('group_id')) };
  if (!hasTargets(targets)) return invalid('client_id', 'no target: give at least one client_id or group_id');
  const offlineTtl = parseOfflineTtl(one('offline_ttl'));
  if (typeof offlineTtl === 'object') return offlineTtl;
  return passed({
    destination: dest.normalized,
    force,
    sync,
    mode: mode.mode,
    ownership,
    targets,
    ...(offlineTtl === undefined ? {} : { offlineTtl }),
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

const TRUE = ['true', '1', 'on', 'yes'];
const FALSE = ['false', '0', 'off', 'no', ''];

function parseBool(field: string, value: string | undefined): boolean | Refused {
  if (value === undefined) return false;
  const v = value.trim().toLowerCase();
  if (TRUE.includes(v)) return true;
  if (FALSE.includes(v)) return false;
  return invalid(field, `${field} "${value}" is not a boolean; use true/false, 1/0 or on/off`);
}

const nonEmpty = (v: string | undefined): string | undefined =>
  v === undefined || v.trim() === '' ? undefined : v.trim();
const unique = (v: string[] | undefined): string[] => [
  ...new Set((v ?? []).map((s) => s.trim()).filter((s) => s !== '')),
];
