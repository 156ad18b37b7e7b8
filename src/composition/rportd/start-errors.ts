// rportd's start-up failures, each worded as the rportd.conf key (and file) to fix. Whatever stops
// the start exits 2, as a bad value in rportd.conf does (runServerCommand).
import { accessSync, constants, mkdirSync } from 'node:fs';
import { ConfigError } from '../../adapters/config/server-config-values.ts';

const reasonOf = (e: unknown): string => (e instanceof Error ? e.message : String(e));

/**
 * Runs one start-up step; what it throws becomes a ConfigError that starts with `key` (e.g.
 * `[server] data_dir "/var/lib/rportd"`). An error that names its key already passes unchanged.
 */
export async function naming<T>(key: string, step: () => T | Promise<T>): Promise<T> {
  try {
    return await step();
  } catch (e) {
    if (e instanceof ConfigError) throw e;
    throw new ConfigError(`${key}: ${reasonOf(e)}`);
  }
}

/** `[server] data_dir "…"`, the prefix of every error about a file rportd keeps there. */
export const dataDirKey = (dir: string): string => `[server] data_dir ${JSON.stringify(dir)}`;

/**
 * Creates `[server] data_dir` (0700) and checks that rportd can write in it, before the database,
 * the JWT secret and the host key each meet the problem in their own words.
 */
export function prepareDataDir(dir: string): void {
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
  } catch (e) {
    throw new ConfigError(`${dataDirKey(dir)}: cannot create it: ${reasonOf(e)}`);
  }
  try {
    accessSync(dir, constants.W_OK | constants.X_OK);
  } catch (e) {
    throw new ConfigError(`${dataDirKey(dir)}: ${runAs()} cannot write in it: ${reasonOf(e)}`);
  }
}

function runAs(): string {
  const uid = process.getuid?.();
  return uid === undefined ? 'rportd' : `rportd (uid ${uid})`;
}

/** What to do about a listen error, by its code. */
const LISTEN_HINTS: Record<string, string> = {
  EADDRINUSE: 'another program (another rportd?) listens there: stop it, or choose another port',
  EACCES: 'ports below 1024 need root or CAP_NET_BIND_SERVICE: choose a port above 1023',
  EADDRNOTAVAIL: 'no network interface of this host has that address',
  ENOTFOUND: 'the host name does not resolve',
  EAI_AGAIN: 'the host name does not resolve',
};

/** A listener that could not open, as `[api] address "…": cannot listen: …; what to do`. */
export function listenError(key: string, address: string, e: unknown): ConfigError {
  const code = (e as NodeJS.ErrnoException | undefined)?.code;
  const hint = code ? LISTEN_HINTS[code] : undefined;
  return new ConfigError(
    `${key} ${JSON.stringify(address)}: cannot listen: ${reasonOf(e)}${hint ? `; ${hint}` : ''}`,
  );
}

/**
 * Says why rportd did not start, in one line, and exits 2. A start error (after rportd.conf was
 * read) is prefixed with the file, as rportd.conf's own errors are; anything unforeseen still
 * gets one line, not a stack trace.
 */
export function startFailed(e: unknown, configPath?: string): never {
  const what =
    e instanceof ConfigError
      ? `${configPath === undefined ? '' : `${configPath}: `}${e.message}`
      : `cannot start: ${reasonOf(e)}`;
  process.stderr.write(`rportd: ${what}\n`);
  process.exit(2);
}
