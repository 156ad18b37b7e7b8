import { mkdirSync, readFileSync } from 'node:fs';
import type { Container } from 'inversify';
import type Koa from 'koa';
import { ConfigError, parseAddress } from '../../adapters/config/server-config-values.ts';
import type { ServerConfig } from '../../adapters/config/server-config.ts';
import type { FsStagingStore } from '../../adapters/fs/fs-staging-store.ts';
import type { ApiAuth } from '../../adapters/http/api-auth.ts';
import { HttpServer, type TlsFiles } from '../../adapters/http/http-server.ts';
import { UPLOADS_SOCKET_PATH, uploadsSocket } from '../../adapters/http/uploads-socket.ts';
import { PinoLogger } from '../../adapters/log/pino-logger.ts';
import type { SqliteApiUsers } from '../../adapters/sqlite/sqlite-api-users.ts';
import type { SqliteDb } from '../../adapters/sqlite/sqlite-database.ts';
import type { WsResultBroadcaster } from '../../adapters/ws/ws-result-broadcaster.ts';
import type { Logger } from '../../ports/logger.ts';
import type { LateClientChannels, LateCredentialSessions } from './late-bindings.ts';
import { sshClientSide, type ClientSideFactory } from './agent-side.ts';
import { buildServerContainer, T } from './container.ts';

export interface ServerStartOptions {
  logger?: Logger;
  /** The line to the agents; the SSH listener by default. Tests pass an in-memory one. */
  clientSide?: ClientSideFactory;
}

export interface RunningServer {
  /** e.g. http://127.0.0.1:3000 */
  url: string;
  port: number;
  http: HttpServer;
  container: Container;
  /** Set on the very first start only: the generated admin password, to be shown once and never logged. */
  initialAdmin?: { username: string; password: string };
  close(): Promise<void>;
}

/** Starts rportd: storage, sweep of stale staged files, the API on [api] address, the agents' side. */
export async function startServer(
  config: ServerConfig,
  opts: ServerStartOptions = {},
): Promise<RunningServer> {
  const logger = opts.logger ?? new PinoLogger({ level: config.logging.log_level });
  mkdirSync(config.server.data_dir, { recursive: true, mode: 0o700 });
  const { host, port: wantedPort } = parseAddress(config.api.address, '[api] address');
  const tls = tlsFilesOf(config);

  const container = await buildServerContainer(config, logger);
  const staging = container.get<FsStagingStore>(T.staging);
  await staging.init();
  const swept = await staging.sweep();
  if (swept > 0) logger.info({ count: swept }, 'removed stale staged files from an earlier run');
  const initialAdmin = config.api.auth
    ? undefined
    : await container.get<SqliteApiUsers>(T.dbUsers).ensureInitialAdmin();

  let http: HttpServer;
  try {
    http = new HttpServer(container.get<Koa>(T.app), tls);
  } catch (e) {
    container.get<SqliteDb>(T.db).close();
    throw new ConfigError(
      `[api] cert_file ${config.api.cert_file} / key_file ${config.api.key_file}: not a usable certificate and key: ${(e as Error).message}`,
    );
  }
  const broadcaster = container.get<WsResultBroadcaster>(T.broadcaster);
  http.onUpgrade(UPLOADS_SOCKET_PATH, uploadsSocket(container.get<ApiAuth>(T.auth), broadcaster, logger));
  const clientSide = await (opts.clientSide ?? sshClientSide)({
    config,
    presence: container.get(T.registry),
    credentials: container.get(T.credentials),
    transfers: container.get(T.transfers),
    stagingDir: staging.dir,
    http,
    logger,
  });
  container.get<LateClientChannels>(T.channels).source = clientSide.channels;
  // Called through clientSide, so a ClientSide written as a class keeps its `this`.
  if (clientSide.endSessionsOf)
    container.get<LateCredentialSessions>(T.sessions).source = {
      endSessionsOf: (id) => clientSide.endSessionsOf!(id),
    };

  let port: number;
  try {
    port = await http.listen(host, wantedPort);
  } catch (e) {
    await clientSide.close();
    container.get<SqliteDb>(T.db).close();
    throw new Error(`[api] address ${config.api.address}: cannot listen: ${(e as Error).message}`, {
      cause: e,
    });
  }
  const url = `${tls ? 'https' : 'http'}://${host.includes(':') ? `[${host}]` : host}:${port}`;
  logger.info(
    { url, data_dir: config.server.data_dir, max_filepush_size: config.server.max_filepush_size },
    `rportd API listening on ${url}`,
  );

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> =>
    (closing ??= (async () => {
      broadcaster.close();
      await http.close();
      await clientSide.close();
      container.get<SqliteDb>(T.db).close();
      logger.info({}, 'rportd stopped');
    })());
  return { url, port, http, container, initialAdmin, close };
}

/** `[api] cert_file` and `key_file`, read at start; a missing or unreadable file names its key. */
function tlsFilesOf(config: ServerConfig): TlsFiles | undefined {
  const { cert_file, key_file } = config.api;
  if (!cert_file || !key_file) return undefined;
  const read = (key: string, path: string): Buffer => {
    try {
      return readFileSync(path);
    } catch (e) {
      throw new ConfigError(`[api] ${key} ${path}: cannot read it: ${(e as Error).message}`);
    }
  };
  return { cert: read('cert_file', cert_file), key: read('key_file', key_file) };
}
