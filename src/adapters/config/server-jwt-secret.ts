import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tightenMode } from '../fs/tighten-mode.ts';

export const JWT_SECRET_FILE = 'jwt_secret';

/**
 * `[api] jwt_secret`, or the one kept in {data_dir}/jwt_secret (0600, in a data_dir created 0700),
 * so tokens survive a restart without a secret in the config file. Whoever can read it can sign a
 * token for any user: a file an older version left more open is tightened.
 */
export function loadOrCreateJwtSecret(dataDir: string, configured?: string): Uint8Array {
  if (configured !== undefined) return new TextEncoder().encode(configured);
  const path = join(dataDir, JWT_SECRET_FILE);
  try {
    const existing = readFileSync(path, 'utf8').trim();
    if (existing.length >= 32) {
      tightenMode(path, 0o600);
      return new TextEncoder().encode(existing);
    }
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw secretError('read', path, e);
  }
  const secret = randomBytes(32).toString('hex');
  try {
    mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    writeFileSync(path, secret + '\n', { mode: 0o600 });
    // `mode` applies only to a new file; a short one being replaced keeps its own.
    chmodSync(path, 0o600);
  } catch (e) {
    throw secretError('write', path, e);
  }
  return new TextEncoder().encode(secret);
}

/** Names the file and the key that makes it unneeded. */
const secretError = (verb: string, path: string, e: unknown): Error =>
  new Error(`cannot ${verb} the JWT secret ${path} (or set [api] jwt_secret): ${(e as Error).message}`, {
    cause: e,
  });
