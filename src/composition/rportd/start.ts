// rportd from the command line to a running server: read rportd.conf, build the object graph, take
// what start-up needs from it in one piece, then open the API and the agents' side.
import { Command, CommanderError } from 'commander';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Container } from 'inversify';
import type Koa from 'koa';
import { ConfigError, parseAddress } from '../../adapters/config/server-config-values.ts';
import { loadServerConfig, type ServerConfig } from '../../adapters/config/server-config.ts';
import { HttpServer, type TlsFiles } from '../../adapters/http/http-server.ts';
import { UPLOADS_SOCKET_PATH, uploadsSocket } from '../../adapters/http/uploads-socket.ts';
import { openLogger } from '../../adapters/log/pino-logger.ts';
import { ProxyProtocolGate } from '../../adapters/net/proxy-protocol-gate.ts';
import { DataDirLock } from '../../adapters/sqlite/data-dir-lock.ts';
import type { Logger } from '../../ports/logger.ts';
import { resolve } from '../shared/typed-wiring.ts';
import { sshClientSide, type ClientSideFactory } from './agent-side.ts';
import { packageVersion } from '../shared/package-version.ts';
import { clusterRouting, type ClusterRouting } from './cluster-routing.ts';
import { openClusterStores, DATABASE_KEY } from './cluster-stores.ts';
import { openClusterNats } from './cluster-nats.ts';
import type { NatsLink } from '../../adapters/nats/nats-link.ts';
import { buildServerContainer, T } from './container.ts';
import { resetAdminPassword } from './reset-admin-password.ts';
import { dataDirKey, listenError, naming, prepareDataDir, startFailed } from './start-errors.ts';

/** `rportd [--config rportd.conf]`: serve until SIGTERM/SIGINT, then shut down cleanly. */
export async function runServerCommand(argv: string[]): Promise<void> {
  const command = new Command('rportd')
    .description('rportd: the rport server (upload API, agent listener, distribution, results, audit log)')
    .version(packageVersion())
    .option('-c, --config <path>', 'path to rportd.conf (without it, every key takes its default)')
    .option(
      '--reset-admin-password [username]',
      'with rportd stopped: give an API user (default admin) a new password and Administrators, then exit (docs/security.md)',
    )
    .exitOverride();
  try {
    command.parse(argv);
  } catch (e) {
    // Commander has said what was wrong; a usage error exits 2 like any other start error.
    process.exit(e instanceof CommanderError && e.exitCode === 0 ? 0 : 2);
  }
  const opts = command.opts<{ config?: string; resetAdminPassword?: string | true }>();
  if (opts.resetAdminPassword !== undefined)
    process.exit(await resetAdminPassword(opts.config, opts.resetAdminPassword, process));
  // The signal handlers go in first: a SIGTERM that came while rportd was starting (a service
  // manager, or a test, that saw the "listening" line) would otherwise meet Node's default action
  // and kill it without a clean stop. Such a signal stops it as soon as it has started.
  let server: RunningServer | undefined;
  let stopping: string | undefined;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = signal;
    if (!server) return; // started below, then stopped
    const logger = server.logger;
    logger.info({ signal }, 'rportd shutting down');
    server.close().then(
      () => process.exit(0),
      (e: unknown) => {
        logger.error({ signal, reason: (e as Error).message }, 'rportd shutdown failed');
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
  let config: ServerConfig;
  try {
    config = loadServerConfig(opts.config);
  } catch (e) {
    return startFailed(e);
  }
  try {
    server = await startServer(config);
  } catch (e) {
    return startFailed(e, opts.config);
  }
  if (server.initialAdmin) {
    // Shown once on the terminal, never through the logger: the hash is all that is kept.
    process.stderr.write(
      `\nrportd: first start, created API user "${server.initialAdmin.username}" with password:\n\n    ${server.initialAdmin.password}\n\n` +
        'It is shown only this once. Log in with POST /api/v1/login and keep it safe.\n\n',
    );
  }
  if (stopping) {
    const signal = stopping;
    stopping = undefined;
    stop(signal);
  }
}

interface ServerStartOptions {
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
  logger: Logger;
  /** Set on the very first start only: the generated admin password, to be shown once and never logged. */
  initialAdmin?: { username: string; password: string };
  close(): Promise<void>;
}

/**
 * Starts rportd: storage, the end of pushes an earlier run left pending, the sweep of stale staged
 * files, the API on [api] address, the agents' side.
 */
export async function startServer(
  config: ServerConfig,
  opts: ServerStartOptions = {},
): Promise<RunningServer> {
  const logger = opts.logger ?? (await openLogger('rportd', config.logging));
  prepareDataDir(config.server.data_dir);
  const { host, port: wantedPort } = parseAddress(config.api.address, '[api] address');
  const tls = tlsFilesOf(config);

  // One rportd per data_dir; `rportd --reset-admin-password` checks the same lock.
  const lock = DataDirLock.take(config.server.data_dir);
  if (!lock)
    throw new ConfigError(
      `[server] data_dir ${config.server.data_dir}: another rportd is using it (its rportd.lock is held); stop that one first`,
    );
  const pg = await openClusterStores(config, logger).catch((e: unknown) => {
    lock.release();
    throw e;
  });
  const cluster: { nats?: NatsLink; routing?: ClusterRouting } = {};
  // The cluster's parts, routing, NATS then PostgreSQL, closed after all that uses them.
  const closePg = async (): Promise<void> => {
    cluster.routing?.close();
    await cluster.nats
      ?.close()
      .catch((e: unknown) => logger.warn({ reason: (e as Error).message }, 'NATS connection close failed'));
    await pg
      ?.close()
      .catch((e: unknown) => logger.warn({ reason: (e as Error).message }, 'PostgreSQL pool close failed'));
  };
  const nats = (cluster.nats = await openClusterNats(config, logger).catch(async (e: unknown) => {
    await closePg();
    lock.release();
    throw e;
  }));
  const routing = (cluster.routing = nats && pg ? clusterRouting(config, nats, pg, logger) : undefined);
  const container = buildServerContainer(config, logger, pg, nats, routing);
  // The stores' own steps at start name the database they are on.
  const storesKey = pg ? DATABASE_KEY : dataDirKey(config.server.data_dir);
  // Each file rportd keeps in data_dir that cannot be opened, read or written names data_dir.
  const dataDir = dataDirKey(config.server.data_dir);
  const dbFile = join(config.server.data_dir, 'rportd.db');
  const db = await naming(`${dataDir}: cannot open the database ${dbFile}`, () =>
    resolve(container, T.db),
  ).catch(async (e: unknown) => {
    await closePg();
    lock.release();
    throw e;
  });
  const rportd = await naming(dataDir, () => resolve(container, T.rportd)).catch(async (e: unknown) => {
    db.close();
    await closePg();
    lock.release();
    throw e;
  });
  const { staging, broadcaster } = rportd;
  const stopTimers = (): void => {
    rportd.offline.close();
    rportd.retention.close();
    rportd.relay?.close();
    rportd.natsHealth?.stop();
  };
  let http: HttpServer;
  let initialAdmin: RunningServer['initialAdmin'];
  try {
    await naming(dataDir, () => staging.init());
    // Before anything opens: from then on a pending target is a live push, not one the last run left.
    const ended = await naming(storesKey, () => rportd.endStranded.execute());
    if (ended.targets > 0)
      logger.warn(
        { uploads: ended.uploads, targets: ended.targets },
        'ended the pushes an earlier run left pending: the file was not confirmed',
      );
    // The offline queue takes its staged files again; then the files kept for retries find their time.
    const queued = await naming(dataDir, () => rportd.offline.resume());
    if (queued.queued + queued.expired > 0)
      logger.info(queued, 'offline queue resumed: queued targets wait for their clients');
    const kept = await naming(dataDir, () => rportd.retention.resume());
    // Then the staged files no live upload names (e.g. a body cut off by the crash).
    const swept = await naming(dataDir, () => staging.sweep(kept));
    if (swept > 0) logger.info({ count: swept }, 'removed stale staged files from an earlier run');
    initialAdmin = config.api.auth
      ? undefined
      : await naming(storesKey, () => rportd.apiUsers.ensureInitialAdmin());
    http = httpServerOf(rportd.app, tls, config, logger);
  } catch (e) {
    stopTimers();
    broadcaster.close();
    db.close();
    await closePg();
    lock.release();
    throw e;
  }
  http.onUpgrade(UPLOADS_SOCKET_PATH, uploadsSocket(rportd.auth, broadcaster, logger));
  const clientSide = await (opts.clientSide ?? sshClientSide)({
    config,
    presence: rportd.presence,
    identity: rportd.identity,
    credentials: rportd.credentials,
    transfers: rportd.transfers,
    stagingDir: staging.dir,
    http,
    logger,
  }).catch(async (e: unknown) => {
    stopTimers();
    broadcaster.close();
    db.close();
    await closePg();
    lock.release();
    throw e;
  });
  rportd.channels.source = clientSide.channels;
  // Wake-ups from other nodes are served once this node's clients can be reached.
  routing?.start(rportd.offline, config.server.push_concurrency, rportd.report);
  // Called through clientSide, so a ClientSide written as a class keeps its `this`.
  if (clientSide.endSessionsOf)
    rportd.sessions.source = { endSessionsOf: (id) => clientSide.endSessionsOf!(id) };

  let port: number;
  try {
    port = await http.listen(host, wantedPort);
  } catch (e) {
    await clientSide.close();
    stopTimers();
    broadcaster.close();
    db.close();
    await closePg();
    lock.release();
    throw listenError('[api] address', config.api.address, e);
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
      stopTimers();
      db.close();
      await closePg();
      lock.release();
      logger.info({}, 'rportd stopped');
    })());
  return { url, port, http, container, logger, initialAdmin, close };
}

/** The API's server; a certificate and key that TLS cannot use name their keys. */
function httpServerOf(app: Koa, tls: TlsFiles | undefined, config: ServerConfig, logger: Logger): HttpServer {
  const gate = new ProxyProtocolGate(
    { from: config.api.proxy_protocol_from, key: '[api] proxy_protocol_from' },
    logger,
  );
  if (!tls) return new HttpServer(app, undefined, gate);
  try {
    return new HttpServer(app, tls, gate);
  } catch (e) {
    throw new ConfigError(
      `[api] cert_file ${config.api.cert_file} / key_file ${config.api.key_file}: not a usable certificate and key: ${(e as Error).message}`,
    );
  }
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
