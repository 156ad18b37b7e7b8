/** Node-style error codes, read without importing node: adapters attach `code` to what they throw. */
export function errorCode(e: unknown): string | undefined {
  return typeof e === 'object' && e !== null && 'code' in e && typeof e.code === 'string'
    ? e.code
    : undefined;
}

export const isPermissionDenied = (e: unknown): boolean => ['EACCES', 'EPERM'].includes(errorCode(e) ?? '');

export function messageOf(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
