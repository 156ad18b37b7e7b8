import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parse, TomlError } from 'smol-toml';
import {
  address,
  bool,
  cidrList,
  ConfigError,
  credentialPair,
  fail,
  nonNegativeInt,
  positiveInt,
  rejectUnknown,
  str,
  table,
  type Table,
} from './server-config-values.ts';
import { LOGGING_KEYS, parseLogging, type LoggingSettings } from '../log/logging-settings.ts';
import { parseCluster, type ClusterSection } from './server-config-cluster.ts';
import { FILE_TLS_KEYS, parseFileTls, type FileTlsKeys } from './server-config-file-tls.ts';

export { ConfigError } from './server-config-values.ts';

export type { LogLevel } from '../log/logging-settings.ts';

/** `[server]`: the agents' side and the staged files. Key names are those of rportd.conf. */
export interface ServerSection extends FileTlsKeys {
  /** Where agents connect over SSH ("host:port"). */
  address: string;
  /** Absolute: holds rportd.db, the host key, the JWT secret and filepush/. */
  data_dir: string;
  max_filepush_size: number;
  enable_ws_test_endpoints: boolean;
  /** `auth = "id:password"`: one client credential. */
  auth?: { id: string; password: string };
  /** Absolute path of a file with one `id:password` per line. */
  auth_file?: string;
  /** Seconds a client may take for one push. */
  push_timeout: number;
  /** Clients fetching one upload at once. */
  push_concurrency: number;
  /** Seconds between SSH keepalives to agents. */
  keep_alive: number;
  max_concurrent_handshakes: number;
  /** SSH connections one address may have before login (loopback is exempt). */
  max_handshakes_per_address: number;
  /** Seconds from TCP accept to a finished SSH login. */
  handshake_timeout: number;
  /** Failed SSH logins from one address before it is banned. */
  max_failed_login: number;
  /** Seconds a banned address stays banned (and failures are remembered). */
  ban_time: number;
  /** CIDR ranges whose SSH logins are never penalised (trusted networks); empty by default. */
  ban_exempt: string[];
  /** CIDR ranges of proxies (HAProxy) whose connections start with a PROXY protocol header; empty by default. */
  proxy_protocol_from: string[];
  /** Seconds an offline target waits for its client when the push names no offline_ttl; 0 = not at all. */
  offline_ttl: number;
  /** Seconds a staged file is kept after its last push, for retries; 0 = removed at once. */
  keep_staged_for: number;
  /** false: uploads asking for setuid, setgid or sticky modes are refused for every user. */
  allow_special_bits: boolean;
}

/** `[api]`: the admins' HTTP(S) side. */
interface ApiSection {
  address: string;
  /** `auth = "user:password"`: one API user (an administrator); otherwise users live in the database. */
  auth?: { id: string; password: string };
  /** Undefined: generated once and kept in {data_dir}/jwt_secret. */
  jwt_secret?: string;
  /** Seconds a login token stays valid. */
  token_lifetime: number;
  cert_file?: string;
  key_file?: string;
  /** Failed logins (login endpoint or basic auth) from one address before it is banned. */
  max_failed_login: number;
  /** Seconds a ban lasts, and how long failures are remembered. */
  ban_time: number;
  /** CIDR ranges of proxies whose connections start with a PROXY protocol header; empty by default. */
  proxy_protocol_from: string[];
}

export interface ServerConfig {
  server: ServerSection;
  api: ApiSection;
  /** `[logging]`: level and format. */
  logging: LoggingSettings;
  /** `[cluster]`: the node id and the shared database (docs/scale-out.md). */
  cluster: ClusterSection;
  /** The file it was read from; undefined when running on defaults. */
  source?: string;
}

export const SERVER_DEFAULTS = {
  address: '0.0.0.0:8080',
  data_dir: './rportd-data',
  max_filepush_size: 10_485_760,
  enable_ws_test_endpoints: false,
  push_timeout: 600,
  push_concurrency: 64,
  keep_alive: 15,
  max_concurrent_handshakes: 64,
  max_handshakes_per_address: 8,
  handshake_timeout: 20,
  max_failed_login: 5,
  ban_time: 600,
  offline_ttl: 0,
  keep_staged_for: 3600,
  allow_special_bits: true,
} as const;

const API_DEFAULTS = {
  address: '127.0.0.1:3000',
  token_lifetime: 3600,
  max_failed_login: 5,
  ban_time: 600,
} as const;

const SERVER_KEYS = [
  'address',
  'data_dir',
  'max_filepush_size',
  'enable_ws_test_endpoints',
  'auth',
  'auth_file',
  'push_timeout',
  'push_concurrency',
  'keep_alive',
  'max_concurrent_handshakes',
  'max_handshakes_per_address',
  'handshake_timeout',
  'max_failed_login',
  'ban_time',
  'ban_exempt',
  'proxy_protocol_from',
  'offline_ttl',
  'keep_staged_for',
  'allow_special_bits',
  ...FILE_TLS_KEYS,
] as const;
const API_KEYS = [
  'address',
  'auth',
  'jwt_secret',
  'token_lifetime',
  'cert_file',
  'key_file',
  'max_failed_login',
  'ban_time',
  'proxy_protocol_from',
] as const;
const MIN_JWT_SECRET = 32;

/** `max_failed_login` and `ban_time`: the same keys and bounds in [server] (SSH logins) and [api] (password checks). */
type LoginBan = Pick<ServerSection, 'max_failed_login' | 'ban_time'>;
function loginBan(t: Table, section: string, defaults: LoginBan): LoginBan {
  return {
    max_failed_login: positiveInt(t, section, 'max_failed_login', defaults.max_failed_login, 1_000_000),
    ban_time: positiveInt(t, section, 'ban_time', defaults.ban_time, 366 * 86_400),
  };
}

/**
 * Reads rportd.conf (TOML). Without a path, every key takes its default. Relative paths in the
 * file are taken relative to the file's directory (to the working directory on defaults).
 * Throws ConfigError naming the file and the `[section] key` at fault.
 */
export function loadServerConfig(path?: string): ServerConfig {
  if (path === undefined) return parseServerConfig({}, process.cwd());
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new ConfigError(`${path}: cannot read the configuration file: ${(e as Error).message}`);
  }
  let doc: Table;
  try {
    doc = parse(text) as Table;
  } catch (e) {
    const where = e instanceof TomlError ? ` at line ${e.line}, column ${e.column}` : '';
    throw new ConfigError(`${path}: not valid TOML${where}: ${(e as Error).message.split('\n')[0]}`);
  }
  try {
    return { ...parseServerConfig(doc, dirname(resolve(path))), source: resolve(path) };
  } catch (e) {
    if (e instanceof ConfigError) throw new ConfigError(`${path}: ${e.message}`);
    throw e;
  }
}

/** Validates a parsed TOML document; relative paths resolve against baseDir. */
export function parseServerConfig(doc: Table, baseDir: string): ServerConfig {
  for (const section of Object.keys(doc)) {
    if (!['server', 'api', 'logging', 'cluster'].includes(section))
      fail(section, '', 'unknown section; known sections are [server], [api], [logging], [cluster]');
  }
  const s = table(doc, 'server');
  const a = table(doc, 'api');
  const l = table(doc, 'logging');
  rejectUnknown(s, 'server', SERVER_KEYS);
  rejectUnknown(a, 'api', API_KEYS);
  rejectUnknown(l, 'logging', LOGGING_KEYS);
  const path = (t: Table, section: string, key: string, dflt?: string): string | undefined => {
    const v = str(t, section, key, dflt);
    if (v === '') return fail(section, key, 'must not be empty');
    return v === undefined ? undefined : resolve(baseDir, v);
  };

  const cluster = parseCluster(table(doc, 'cluster'));
  // A fetch token is good on the node that issued it, and a load balancer may send the fetch to another.
  const clustered = cluster.database_url !== undefined || cluster.nats_url !== undefined;
  const server: ServerSection = {
    address: address(s, 'server', 'address', SERVER_DEFAULTS.address),
    data_dir: path(s, 'server', 'data_dir', SERVER_DEFAULTS.data_dir) as string,
    max_filepush_size: positiveInt(s, 'server', 'max_filepush_size', SERVER_DEFAULTS.max_filepush_size),
    enable_ws_test_endpoints: bool(
      s,
      'server',
      'enable_ws_test_endpoints',
      SERVER_DEFAULTS.enable_ws_test_endpoints,
    ),
    auth: credentialPair(s, 'server', 'auth', 'id'),
    auth_file: path(s, 'server', 'auth_file'),
    push_timeout: positiveInt(s, 'server', 'push_timeout', SERVER_DEFAULTS.push_timeout, 86_400),
    offline_ttl: nonNegativeInt(s, 'server', 'offline_ttl', SERVER_DEFAULTS.offline_ttl, 30 * 86_400),
    keep_staged_for: nonNegativeInt(
      s,
      'server',
      'keep_staged_for',
      SERVER_DEFAULTS.keep_staged_for,
      30 * 86_400,
    ),
    push_concurrency: positiveInt(s, 'server', 'push_concurrency', SERVER_DEFAULTS.push_concurrency, 10_000),
    keep_alive: positiveInt(s, 'server', 'keep_alive', SERVER_DEFAULTS.keep_alive, 3600),
    max_concurrent_handshakes: positiveInt(
      s,
      'server',
      'max_concurrent_handshakes',
      SERVER_DEFAULTS.max_concurrent_handshakes,
      100_000,
    ),
    max_handshakes_per_address: positiveInt(
      s,
      'server',
      'max_handshakes_per_address',
      SERVER_DEFAULTS.max_handshakes_per_address,
      100_000,
    ),
    handshake_timeout: positiveInt(s, 'server', 'handshake_timeout', SERVER_DEFAULTS.handshake_timeout, 3600),
    ...loginBan(s, 'server', SERVER_DEFAULTS),
    ban_exempt: cidrList(s, 'server', 'ban_exempt'),
    proxy_protocol_from: cidrList(s, 'server', 'proxy_protocol_from'),
    allow_special_bits: bool(s, 'server', 'allow_special_bits', SERVER_DEFAULTS.allow_special_bits),
    ...parseFileTls(s, clustered, path),
  };
  if (server.auth && server.auth_file) fail('server', 'auth', 'give either auth or auth_file, not both');

  const api: ApiSection = {
    address: address(a, 'api', 'address', API_DEFAULTS.address),
    auth: credentialPair(a, 'api', 'auth', 'user'),
    jwt_secret: str(a, 'api', 'jwt_secret'),
    token_lifetime: positiveInt(a, 'api', 'token_lifetime', API_DEFAULTS.token_lifetime, 366 * 86_400),
    cert_file: path(a, 'api', 'cert_file'),
    key_file: path(a, 'api', 'key_file'),
    ...loginBan(a, 'api', API_DEFAULTS),
    proxy_protocol_from: cidrList(a, 'api', 'proxy_protocol_from'),
  };
  if (api.jwt_secret !== undefined && api.jwt_secret.length < MIN_JWT_SECRET) {
    fail(
      'api',
      'jwt_secret',
      `must be at least ${MIN_JWT_SECRET} characters (leave it out to have one generated)`,
    );
  }
  if ((api.cert_file === undefined) !== (api.key_file === undefined)) {
    fail(
      'api',
      api.cert_file === undefined ? 'cert_file' : 'key_file',
      'HTTPS needs both cert_file and key_file',
    );
  }

  return {
    server,
    api,
    logging: parseLogging(l, (key, problem) => fail('logging', key, problem)),
    cluster,
  };
}
