/**
 * The rules of `[file-reception.validators]` and of the push's `validate` field, shared by the
 * agent's config parser, the agent and the server (which checks only the name's shape: it never
 * sends a command).
 */

/** Where the verified temp file's path goes in a validator's argv. */
export const FILE_PLACEHOLDER = '%s';
export const VALIDATORS_KEY = '[file-reception.validators]';
export const DEFAULT_VALIDATE_TIMEOUT_MS = 30_000;

const NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

/** A validator's name as a push gives it and rport.conf names it; undefined when it is well formed. */
export function validatorNameProblem(name: string): string | undefined {
  if (NAME.test(name)) return undefined;
  return `validator name ${JSON.stringify(name.slice(0, 80))} must be 1-64 letters, digits, _ . - (starting with a letter or digit)`;
}

/**
 * One validator's argv from rport.conf: a list of strings, argv[0] an absolute path (no PATH
 * search), and exactly one `%s` in the whole list, so the file checked is always the one pushed and
 * never passed twice or not at all. Undefined when it is well formed.
 */
export function validatorArgvProblem(argv: unknown): string | undefined {
  if (!Array.isArray(argv) || argv.length === 0 || !argv.every((a) => typeof a === 'string'))
    return 'must be a non-empty list of strings (an argv, never a shell string), e.g. ["/usr/sbin/nginx", "-t", "-c", "%s"]';
  if (argv.some((a: string) => a.includes('\0'))) return 'must not hold a NUL character';
  if (!argv[0].startsWith('/'))
    return `its program "${argv[0]}" must be an absolute path (the agent does not search PATH)`;
  const count = argv.reduce((n: number, a: string) => n + a.split(FILE_PLACEHOLDER).length - 1, 0);
  if (count !== 1)
    return `must hold "${FILE_PLACEHOLDER}" (the pushed file's temp path) exactly once; it holds it ${count} times`;
  return undefined;
}

/** The argv with its one `%s` replaced by the file's path. */
export function argvFor(argv: readonly string[], file: string): string[] {
  return argv.map((a) => a.split(FILE_PLACEHOLDER).join(file));
}

/** The first lines of a validator's output, for an outcome message: at most 5 lines and 600 characters. */
export function firstLines(text: string, lines = 5, chars = 600): string {
  const all = text.split(/\r?\n/).filter((l) => l.trim() !== '');
  let shown = all.slice(0, lines).join(' | ');
  if (shown.length > chars) shown = shown.slice(0, chars) + '…';
  else if (all.length > lines) shown += ' | …';
  return shown;
}
