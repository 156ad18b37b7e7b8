/** The `[logging]` section that rportd.conf and rport.conf share: which lines, and in what form. */

export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export const LOG_FORMATS = ['json', 'pretty'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

export interface LoggingSettings {
  level: LogLevel;
  /** Undefined: pretty when stdout is a terminal, JSON lines otherwise (a service manager, a pipe). */
  format?: LogFormat;
}

/** `log_level` is the older name of `level` (and OpenRPort's); a file from before keeps working. */
export const LOGGING_KEYS = ['level', 'format', 'log_level'] as const;

/** How a config reader says that `[logging] key` is wrong; it throws. */
type Fail = (key: string, problem: string) => never;

/**
 * Reads an already-parsed `[logging]` table; unknown keys are the caller's to reject, with its own
 * list of keys. Values are case-insensitive.
 */
export function parseLogging(t: Record<string, unknown>, fail: Fail): LoggingSettings {
  if (t.level !== undefined && t.log_level !== undefined)
    fail('log_level', 'give either level or log_level (its older name), not both');
  const levelKey = t.level === undefined && t.log_level !== undefined ? 'log_level' : 'level';
  const level = pick(t, levelKey, LOG_LEVELS, fail) ?? 'info';
  const format = pick(t, 'format', LOG_FORMATS, fail);
  return format === undefined ? { level } : { level, format };
}

function pick<T extends string>(
  t: Record<string, unknown>,
  key: string,
  allowed: readonly T[],
  fail: Fail,
): T | undefined {
  const v = t[key];
  if (v === undefined) return undefined;
  const lower = typeof v === 'string' ? v.trim().toLowerCase() : undefined;
  if (lower !== undefined && (allowed as readonly string[]).includes(lower)) return lower as T;
  return fail(key, `must be one of ${allowed.join(', ')}, got ${shown(v)}`);
}

/** The format a setting stands for on this process: pretty on a terminal unless the file says otherwise. */
export function formatFor(settings: LoggingSettings, stdoutIsTty = process.stdout.isTTY === true): LogFormat {
  return settings.format ?? (stdoutIsTty ? 'pretty' : 'json');
}

function shown(v: unknown): string {
  try {
    return JSON.stringify(v) ?? String(v);
  } catch {
    return String(v);
  }
}
