import { readFile, stat } from 'node:fs/promises';
import { hostname, userInfo } from 'node:os';
import { parse } from 'smol-toml';
import { LOGGING_KEYS, parseLogging, type LoggingSettings } from '../log/logging-settings.ts';
import { DEFAULT_PROTECTED_POSIX, DEFAULT_PROTECTED_WINDOWS } from '../../domain/protected-paths.ts';
import { DEFAULT_DIFF_SETTINGS, type DiffSettings } from '../../domain/content-diff.ts';
import {
  parseReceptionExtras,
  RECEPTION_EXTRA_KEYS,
  type ReceptionExtras,
} from './agent-reception-extras.ts';

/** rport.conf, checked: every field has its final value. */
export interface ClientConfig {
  /** `[client] server`: one address, or several tried in order (failover); never empty. */
  servers: string[];
  fingerprint: string;
  credentialId: string;
  password: string;
  id: string;
  name: string;
  tags: string[];
  dataDir: string;
  fileReception: {
    enabled: boolean;
    protected: string[];
    backup: boolean;
    allowSpecialBits: boolean;
    /** `diff` and `max_diff_size`: whether pushes may get a diff of the old file, and up to what size (the parser always sets it). */
    diff?: DiffSettings;
  } & Partial<ReceptionExtras>;
  /** [file-reception] hash_thread: md5 on a thread of its own (faster with a spare core, more RSS; ADR 6). */
  hashThread: boolean;
  /** `[logging]`: level and format; the parser always sets it (optional for configs built in code). */
  logging?: LoggingSettings;
}

export class ClientConfigError extends Error {
  constructor(
    readonly key: string,
    detail: string,
  ) {
    super(`rport.conf ${key}: ${detail}`);
    this.name = 'ClientConfigError';
  }
}

const FINGERPRINT = /^SHA256:[A-Za-z0-9+/]{43}$/;
const CLIENT_KEYS = ['server', 'fingerprint', 'auth', 'id', 'name', 'tags', 'data_dir'];
const DIFF_KEYS = ['diff', 'max_diff_size'];
const RECEPTION_KEYS = [
  'enabled',
  'protected',
  'backup',
  'hash_thread',
  'allow_special_bits',
  ...DIFF_KEYS,
  ...RECEPTION_EXTRA_KEYS,
];
const SECTIONS = ['client', 'file-reception', 'logging'];

export async function loadClientConfig(
  path: string,
  platform: NodeJS.Platform = process.platform,
): Promise<ClientConfig> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    throw new ClientConfigError('(file)', `cannot read ${path}: ${(e as Error).message}`);
  }
  return parseClientConfig(text, platform);
}

/** Who the agent runs as, for the check of its config file's permissions. */
export interface ProcessIdentity {
  uid: number;
  gids: number[];
  username: string;
}

/** The running process's identity; undefined where Unix modes do not apply (Windows). */
function currentIdentity(): ProcessIdentity | undefined {
  if (!process.getuid || !process.getgroups || !process.getgid) return undefined;
  return {
    uid: process.getuid(),
    gids: [process.getgid(), ...process.getgroups()],
    username: userInfo().username,
  };
}

/** The warning to log at start when rport.conf, which holds the client password, is too open. */
export async function configPermissionWarning(
  path: string,
  who: ProcessIdentity | undefined = currentIdentity(),
): Promise<string | undefined> {
  return who && permissionWarning(path, await stat(path), who);
}

/**
 * A warning naming the file and the command that fixes it, when users other than the agent's can
 * read it. Group read is fine on a file the agent reads through its group (e.g. root:rport 0640),
 * so the command keeps the agent able to read the file.
 */
export function permissionWarning(
  path: string,
  file: { mode: number; uid: number; gid: number },
  who: ProcessIdentity,
): string | undefined {
  const mine = file.uid === who.uid || who.uid === 0;
  const byOthers = (file.mode & 0o004) !== 0;
  const byGroup = (file.mode & 0o040) !== 0 && mine;
  if (!byOthers && !byGroup) return undefined;
  const p = shellQuoted(path);
  const fix = mine
    ? `chmod 600 ${p}`
    : who.gids.includes(file.gid)
      ? `chmod 640 ${p}`
      : `chown ${who.username} ${p} && chmod 600 ${p}`;
  return `${path} can be read by other users, and it holds the client password: run \`${fix}\``;
}

function shellQuoted(s: string): string {
  return /^[\w./@%+=:,-]+$/.test(s) ? s : `'${s.replace(/'/g, "'\\''")}'`;
}

/** Parses rport.conf text; every bad value throws a ClientConfigError naming its key. */
export function parseClientConfig(text: string, platform: NodeJS.Platform = process.platform): ClientConfig {
  let doc: Record<string, unknown>;
  try {
    doc = parse(text) as Record<string, unknown>;
  } catch (e) {
    throw new ClientConfigError('(syntax)', `not valid TOML: ${(e as Error).message.split('\n')[0]}`);
  }
  for (const section of Object.keys(doc)) {
    if (!SECTIONS.includes(section))
      throw new ClientConfigError(
        `[${section}]`,
        'unknown section; expected [client], [file-reception] and [logging]',
      );
  }
  const client = table(doc, 'client');
  const reception = table(doc, 'file-reception');
  unknownKeys('client', client, CLIENT_KEYS);
  unknownKeys('file-reception', reception, RECEPTION_KEYS);
  const logSection = table(doc, 'logging');
  unknownKeys('logging', logSection, LOGGING_KEYS);
  const logging = parseLogging(logSection, (key, problem) => {
    throw new ClientConfigError(`[logging] ${key}`, problem);
  });

  const servers = serverList(client.server);
  const fingerprint = str(client, 'client', 'fingerprint');
  if (fingerprint === undefined)
    throw new ClientConfigError(
      '[client] fingerprint',
      'is required: the server prints its SHA256:… fingerprint at start',
    );
  if (!FINGERPRINT.test(fingerprint))
    throw new ClientConfigError(
      '[client] fingerprint',
      `"${fingerprint}" is not a SHA256 fingerprint like SHA256:<43 base64 characters>`,
    );
  const auth = str(client, 'client', 'auth');
  const colon = auth?.indexOf(':') ?? -1;
  if (auth === undefined || colon <= 0 || colon === auth.length - 1)
    throw new ClientConfigError('[client] auth', 'must be "id:password"');
  const id = str(client, 'client', 'id') ?? '';
  if (!/^[A-Za-z0-9._:@-]{1,128}$/.test(id))
    throw new ClientConfigError('[client] id', 'is required: 1-128 characters of letters, digits, . _ : @ -');
  const dataDir =
    str(client, 'client', 'data_dir') ?? (platform === 'win32' ? 'C:\\ProgramData\\rport' : '/var/lib/rport');
  if (dataDir === '') throw new ClientConfigError('[client] data_dir', 'must not be empty');

  const enabled = bool(reception, 'enabled', true);
  const backup = bool(reception, 'backup', false);
  const hashThread = bool(reception, 'hash_thread', false);
  // setuid, setgid and sticky modes: off unless the host's admin allows them here.
  const allowSpecialBits = bool(reception, 'allow_special_bits', false);
  const prot =
    reception.protected ?? (platform === 'win32' ? DEFAULT_PROTECTED_WINDOWS : DEFAULT_PROTECTED_POSIX);
  if (!Array.isArray(prot) || !prot.every((p) => typeof p === 'string' && p !== '')) {
    throw new ClientConfigError('[file-reception] protected', 'must be a list of glob patterns (strings)');
  }
  const tags = client.tags ?? [];
  if (!Array.isArray(tags) || !tags.every((t) => typeof t === 'string'))
    throw new ClientConfigError('[client] tags', 'must be a list of strings');

  return {
    servers,
    fingerprint,
    credentialId: auth.slice(0, colon),
    password: auth.slice(colon + 1),
    id,
    name: str(client, 'client', 'name') ?? hostname(),
    tags: tags as string[],
    dataDir,
    fileReception: {
      enabled,
      protected: prot as string[],
      backup,
      allowSpecialBits,
      diff: diffSettings(reception),
      ...parseReceptionExtras(reception, (key, problem) => {
        throw new ClientConfigError(key, problem);
      }),
    },
    hashThread,
    logging,
  };
}

/** Both files are held whole and compared line by line: bounded, whatever rport.conf says. */
const MAX_DIFF_SIZE_LIMIT = 256 * 1024;

/** `[file-reception] diff` (default true) and `max_diff_size` (bytes, default 64 KiB, at most 256 KiB). */
function diffSettings(reception: Record<string, unknown>): DiffSettings {
  const enabled = bool(reception, 'diff', DEFAULT_DIFF_SETTINGS.enabled);
  const size = reception.max_diff_size ?? DEFAULT_DIFF_SETTINGS.maxSize;
  if (typeof size !== 'number' || !Number.isInteger(size) || size < 0 || size > MAX_DIFF_SIZE_LIMIT)
    throw new ClientConfigError(
      '[file-reception] max_diff_size',
      `must be a whole number of bytes from 0 to ${MAX_DIFF_SIZE_LIMIT} (default ${DEFAULT_DIFF_SETTINGS.maxSize})`,
    );
  return { enabled, maxSize: size };
}

const SERVER_FORMS = '"host:port" or "ws://host:port/path"';
const HOST_PORT = /^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/;

/** `[client] server`: a string, or a non-empty array of them; a bad element is named by its index. */
function serverList(value: unknown): string[] {
  if (value === undefined || value === '')
    throw new ClientConfigError('[client] server', `is required: ${SERVER_FORMS}, or a list of them`);
  const list = Array.isArray(value) ? (value as unknown[]) : [value];
  if (list.length === 0)
    throw new ClientConfigError('[client] server', `must not be an empty list: give ${SERVER_FORMS}`);
  return list.map((v, i) => {
    const key = Array.isArray(value) ? `[client] server[${i}]` : '[client] server';
    if (typeof v !== 'string')
      throw new ClientConfigError(key, `must be a string (${SERVER_FORMS}), or a list of them`);
    if (!isServerAddress(v)) throw new ClientConfigError(key, `"${v}" must be ${SERVER_FORMS}`);
    if (list.indexOf(v) !== i)
      throw new ClientConfigError(key, `"${v}" is already server[${list.indexOf(v)}]`);
    return v;
  });
}

function isServerAddress(v: string): boolean {
  if (/^wss?:\/\//i.test(v)) return URL.canParse(v);
  const port = Number(HOST_PORT.exec(v)?.[2] ?? NaN);
  return port >= 1 && port <= 65535;
}

function table(doc: Record<string, unknown>, name: string): Record<string, unknown> {
  const t = doc[name] ?? {};
  if (typeof t !== 'object' || t === null || Array.isArray(t))
    throw new ClientConfigError(`[${name}]`, 'must be a table');
  return t as Record<string, unknown>;
}

function unknownKeys(section: string, t: Record<string, unknown>, known: readonly string[]): void {
  for (const k of Object.keys(t)) {
    if (!known.includes(k))
      throw new ClientConfigError(`[${section}] ${k}`, `unknown key; expected one of ${known.join(', ')}`);
  }
}

function str(t: Record<string, unknown>, section: string, key: string): string | undefined {
  const v = t[key];
  if (v === undefined) return undefined;
  if (typeof v !== 'string') throw new ClientConfigError(`[${section}] ${key}`, 'must be a string');
  return v;
}

function bool(t: Record<string, unknown>, key: string, dflt: boolean): boolean {
  const v = t[key];
  if (v === undefined) return dflt;
  if (typeof v !== 'boolean') throw new ClientConfigError(`[file-reception] ${key}`, 'must be true or false');
  return v;
}
