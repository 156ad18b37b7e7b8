/** An Error carrying a node-style `code`, like the ones node:fs throws. */
export function errnoError(code: string, message: string): Error & { code: string } {
  return Object.assign(new Error(`${code}: ${message}`), { code });
}
