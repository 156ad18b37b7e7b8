import { DEFAULT_BACKUP_KEEP, MAX_BACKUP_KEEP } from '../../domain/backup-names.ts';
import {
  DEFAULT_VALIDATE_TIMEOUT_MS,
  validatorArgvProblem,
  validatorNameProblem,
  VALIDATORS_KEY,
} from '../../domain/validators.ts';

/** The `[file-reception]` keys of issue 20's validators and per-push backups. */
export const RECEPTION_EXTRA_KEYS = ['validators', 'validate_timeout', 'backup_keep'];

export interface ReceptionExtras {
  /** `[file-reception.validators]`: name -> argv with exactly one `%s`. */
  validators: Record<string, string[]>;
  /** `[file-reception] validate_timeout`, in ms (given in seconds). */
  validateTimeoutMs: number;
  /** `[file-reception] backup_keep`. */
  backupKeep: number;
}

const MAX_VALIDATE_TIMEOUT_S = 3600;

/** Reads the keys, with their defaults; a bad value is reported through fail with its key. */
export function parseReceptionExtras(
  reception: Record<string, unknown>,
  fail: (key: string, problem: string) => never,
): ReceptionExtras {
  const timeout = reception.validate_timeout ?? DEFAULT_VALIDATE_TIMEOUT_MS / 1000;
  if (
    typeof timeout !== 'number' ||
    !Number.isFinite(timeout) ||
    timeout <= 0 ||
    timeout > MAX_VALIDATE_TIMEOUT_S
  )
    fail(
      '[file-reception] validate_timeout',
      `must be a number of seconds above 0 and at most ${MAX_VALIDATE_TIMEOUT_S}`,
    );
  const keep = reception.backup_keep ?? DEFAULT_BACKUP_KEEP;
  if (typeof keep !== 'number' || !Number.isInteger(keep) || keep < 1 || keep > MAX_BACKUP_KEEP)
    fail('[file-reception] backup_keep', `must be a whole number from 1 to ${MAX_BACKUP_KEEP}`);
  return {
    validators: validators(reception.validators, fail),
    validateTimeoutMs: timeout * 1000,
    backupKeep: keep,
  };
}

function validators(table: unknown, fail: (key: string, problem: string) => never): Record<string, string[]> {
  if (table === undefined) return {};
  if (typeof table !== 'object' || table === null || Array.isArray(table))
    fail(VALIDATORS_KEY, 'must be a table of name = ["/path/to/program", "arg", "%s"]');
  const out: Record<string, string[]> = {};
  for (const [name, argv] of Object.entries(table as Record<string, unknown>)) {
    const badName = validatorNameProblem(name);
    if (badName) fail(`${VALIDATORS_KEY} ${name}`, badName);
    const badArgv = validatorArgvProblem(argv);
    if (badArgv) fail(`${VALIDATORS_KEY} ${name}`, badArgv);
    out[name] = [...(argv as string[])];
  }
  return out;
}
