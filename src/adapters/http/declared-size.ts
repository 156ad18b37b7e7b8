import { DEFAULT_MULTIPART_LIMITS } from './multipart-parser.ts';

/**
 * What a multipart body may hold besides the file: every text field together, plus room for part
 * headers and delimiters far beyond what a real form (even thousands of client_id parts) needs.
 */
export const MULTIPART_OVERHEAD_ALLOWANCE = DEFAULT_MULTIPART_LIMITS.maxTotalFieldBytes + 4 * 1024 * 1024;

/**
 * True when the request's Content-Length alone shows that its file cannot fit `maxFileBytes`, so
 * it can be refused before a byte of the body is read. Chunked bodies (no Content-Length) are
 * left to the streaming check.
 */
export function declaredTooLarge(contentLength: string | undefined, maxFileBytes: number): boolean {
  if (contentLength === undefined || !/^\d+$/.test(contentLength.trim())) return false;
  return Number(contentLength) > maxFileBytes + MULTIPART_OVERHEAD_ALLOWANCE;
}
