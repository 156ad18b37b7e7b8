import { chmod, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { ApiCredentials } from '../../adapters/rportcli-api/rport-api-client.ts';
import type { TlsOptions } from '../../adapters/rportcli-api/tls-options.ts';
import { CliError } from './errors.ts';

/** rportd's default `[api] address`. */
const DEFAULT_API_URL = 'http://127.0.0.1:3000';

/** What `rportcli login` keeps between runs: never a password. */
interface SavedLogin {
  url: string;
  token: string;
  username?: string;
}

/** Connection flags shared by every command (flags win over the environment, which wins over the saved login). */
export interface ConnectionFlags {
  url?: string;
  token?: string;
  apiUser?: string;
  apiPassword?: string;
  /** PEM file of the CA to trust for https (else $RPORT_API_CACERT). */
  cacert?: string;
  insecure?: boolean;
}

/** Where to connect and how to check the server's certificate. */
export interface Server {
  url: string;
  /** Where the URL came from, named so an error can say what to change. */
  urlSource: string;
  tls: TlsOptions;
}

export interface Connection extends Server {
  credentials: ApiCredentials;
  credentialSource: string;
}

type Env = Record<string, string | undefined>;

/** $XDG_CONFIG_HOME/rportcli, or ~/.config/rportcli. */
export function configDir(env: Env): string {
  const xdg = env.XDG_CONFIG_HOME;
  return join(xdg && xdg.startsWith('/') ? xdg : join(env.HOME || homedir(), '.config'), 'rportcli');
}

export const savedLoginPath = (env: Env): string => join(configDir(env), 'login.json');

async function loadSavedLogin(env: Env): Promise<SavedLogin | undefined> {
  const path = savedLoginPath(env);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new CliError(`cannot read the saved login ${path}: ${(e as Error).message}`);
  }
  try {
    const doc = JSON.parse(text) as Partial<SavedLogin>;
    if (typeof doc.url === 'string' && typeof doc.token === 'string')
      return { url: doc.url, token: doc.token, username: doc.username };
  } catch {
    // fall through: a damaged file is reported below
  }
  throw new CliError(`the saved login ${path} is damaged; run \`rportcli login\` again`);
}

/** Writes the token readable by its owner only (0600, in a 0700 directory), replacing any earlier one atomically. */
export async function saveLogin(env: Env, login: SavedLogin): Promise<string> {
  const dir = configDir(env);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const path = savedLoginPath(env);
  const temp = `${path}.${process.pid}.tmp`;
  await writeFile(temp, `${JSON.stringify(login, null, 2)}\n`, { mode: 0o600 });
  // The umask cannot widen 0600, but an odd one could narrow it: set it explicitly.
  await chmod(temp, 0o600);
  await rename(temp, path);
  return path;
}

/** Picks the server URL and its CA: flags, then RPORT_API_* variables, then the saved login. */
export async function resolveServer(
  flags: Pick<ConnectionFlags, 'url' | 'cacert' | 'insecure'>,
  env: Env,
  saved?: SavedLogin,
): Promise<Server> {
  saved ??= await loadSavedLogin(env);
  const [url, urlSource] = flags.url
    ? [flags.url, '--url']
    : env.RPORT_API_URL
      ? [env.RPORT_API_URL, 'RPORT_API_URL']
      : saved
        ? [saved.url, savedLoginPath(env)]
        : [DEFAULT_API_URL, 'the default'];
  checkUrl(url, urlSource);
  const [cacert, caSource] = flags.cacert
    ? [flags.cacert, '--cacert']
    : env.RPORT_API_CACERT
      ? [env.RPORT_API_CACERT, 'RPORT_API_CACERT']
      : [undefined, ''];
  const ca = cacert === undefined ? undefined : await readCa(cacert, caSource);
  return { url, urlSource, tls: { ca, insecure: flags.insecure ?? false } };
}

/** Picks the server (resolveServer) and the credentials, in the same order. */
export async function resolveConnection(flags: ConnectionFlags, env: Env): Promise<Connection> {
  const saved = await loadSavedLogin(env);
  const server = await resolveServer(flags, env, saved);
  const url = server.url;
  const conn = (credentials: ApiCredentials, credentialSource: string): Connection => ({
    ...server,
    credentials,
    credentialSource,
  });
  if (flags.token) return conn({ token: flags.token }, '--token');
  if (flags.apiUser || flags.apiPassword)
    return conn(userPassword(flags.apiUser, flags.apiPassword, '--api-user', '--api-password'), '--api-user');
  if (env.RPORT_API_TOKEN) return conn({ token: env.RPORT_API_TOKEN }, 'RPORT_API_TOKEN');
  // RPORT_API_USER alone is what `rportcli login` prompts with; the token that login saved for the
  // same user and server serves the commands after it.
  const savedHere = saved && sameServer(saved.url, url) ? saved : undefined;
  if (
    savedHere &&
    env.RPORT_API_USER &&
    !env.RPORT_API_PASSWORD &&
    (savedHere.username === undefined || savedHere.username === env.RPORT_API_USER)
  )
    return conn({ token: savedHere.token }, savedLoginPath(env));
  if (env.RPORT_API_USER || env.RPORT_API_PASSWORD) {
    return conn(
      userPassword(env.RPORT_API_USER, env.RPORT_API_PASSWORD, 'RPORT_API_USER', 'RPORT_API_PASSWORD'),
      'RPORT_API_USER',
    );
  }
  // A token is only good for the server that issued it.
  if (savedHere) return conn({ token: savedHere.token }, savedLoginPath(env));
  return conn(undefined, 'none');
}

function checkUrl(url: string, source: string): void {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new CliError(
      `the server URL "${url}" (from ${source}) is not a URL; give e.g. http://127.0.0.1:3000`,
    );
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new CliError(`the server URL "${url}" (from ${source}) must start with http:// or https://`);
  }
}

/** The CA file, read once; a file that holds no PEM certificate is refused here, naming where it came from. */
async function readCa(path: string, source: string): Promise<Buffer> {
  let pem: Buffer;
  try {
    pem = await readFile(path);
  } catch (e) {
    throw new CliError(`cannot read the CA file ${path} (from ${source}): ${(e as Error).message}`);
  }
  if (!pem.includes('-----BEGIN CERTIFICATE-----'))
    throw new CliError(
      `the CA file ${path} (from ${source}) holds no PEM certificate (-----BEGIN CERTIFICATE-----)`,
    );
  return pem;
}

function userPassword(
  user: string | undefined,
  password: string | undefined,
  userKey: string,
  passwordKey: string,
): ApiCredentials {
  if (!user) throw new CliError(`${passwordKey} is set but ${userKey} is not: give both`);
  if (!password) throw new CliError(`${userKey} is set but ${passwordKey} is not: give both`);
  return { username: user, password };
}

const sameServer = (a: string, b: string): boolean => a.replace(/\/+$/, '') === b.replace(/\/+$/, '');
