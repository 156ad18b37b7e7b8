/** An error with a node-style `code`, as the LocalFiles port promises. */
export function fsError(code: string, message: string): Error & { code: string } {
  return Object.assign(new Error(message), { code });
}

/**
 * Rewords a node fs error as "<action> <path>: <reason>", keeping its code. Node's own message may
 * name a /proc/self/fd path; the user needs the real one.
 */
export function describeError(e: unknown, action: string, path: string): Error {
  const err = e as NodeJS.ErrnoException;
  if (typeof err?.code !== 'string') return e instanceof Error ? e : new Error(String(e));
  const reason = (err.message ?? '').split(',')[0] || err.code;
  return Object.assign(new Error(`${action} ${path}: ${reason}`), { code: err.code, cause: e });
}
