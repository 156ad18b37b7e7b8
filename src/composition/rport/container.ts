import { ContainerModule, Container } from 'inversify';
import { hostname } from 'node:os';
import type { ApplyOwnership } from '../../domain/apply-ownership.ts';
import { flavorOf } from '../../domain/destination.ts';
import { ProtectedPaths, type RealRoot } from '../../domain/protected-paths.ts';
import { DEFAULT_VALIDATE_TIMEOUT_MS } from '../../domain/validators.ts';
import type { ReceiveFile, ReceptionSettings } from '../../domain/receive-file.ts';
import type { Clock } from '../../ports/clock.ts';
import type { Logger } from '../../ports/logger.ts';
import type { FileSource } from '../../ports/file-source.ts';
import type { PrivilegedFiles } from '../../ports/privileged-files.ts';
import type { ValidatorRunner } from '../../ports/validator-runner.ts';
import { ChildProcessValidatorRunner } from '../../adapters/process/child-process-validator-runner.ts';
import { FsLocalFiles } from '../../adapters/fs/fs-local-files.ts';
import { PushLog } from '../../adapters/log/push-log.ts';
import { BackupLoggingFiles } from './backup-logging-files.ts';
import { expandProtectedRoots } from '../../adapters/fs/protected-roots.ts';
import { SudoPrivilegedFiles } from '../../adapters/sudo/sudo-privileged-files.ts';
import type { ClientConfig } from '../../adapters/config/agent-config.ts';
import { transportFor } from '../../adapters/ssh/agent/transport.ts';
import { AGENT_FEATURES } from '../../adapters/ssh/protocol.ts';
import { READS_IN_FLIGHT, SftpFileSource } from '../../adapters/ssh/agent/sftp-file-source.ts';
import { ScavengePacer } from '../../adapters/system/scavenge-pacer.ts';
import { FetchOffers, TlsFileSource } from '../../adapters/tls/tls-file-source.ts';
import { ServerConnection } from '../../adapters/ssh/agent/server-connection.ts';
import { loadOrCreateAgentKey, type AgentIdentity } from '../../adapters/ssh/agent/agent-key.ts';
import { SystemClock } from '../../adapters/system/system-clock.ts';
import { packageVersion } from '../shared/package-version.ts';
import { receptionModule } from '../shared/reception-wiring.ts';
import { constant, provide, provideRecord, resolve, token } from '../shared/typed-wiring.ts';
import { dataDirError } from './start-errors.ts';

const CLIENT_VERSION = packageVersion();

/** The agent's token table: one token per binding, typed with what it is bound to. */
const T = {
  config: token<ClientConfig>('ClientConfig'),
  logger: token<Logger>('Logger'),
  clock: token<Clock>('Clock'),
  files: token<FsLocalFiles>('LocalFiles'),
  privileged: token<PrivilegedFiles>('PrivilegedFiles'),
  realRoots: token<RealRoot[]>('ProtectedRealRoots'),
  settings: token<ReceptionSettings>('ReceptionSettings'),
  ownership: token<ApplyOwnership>('ApplyOwnership'),
  receive: token<ReceiveFile>('ReceiveFile'),
  validatorRunner: token<ValidatorRunner>('ValidatorRunner'),
  connection: token<ServerConnection>('ServerConnection'),
  identity: token<AgentIdentity>('AgentIdentity'),
  source: token<FileSource>('FileSource'),
  agent: token<Agent>('Agent'),
  pushLog: token<PushLog>('PushLog'),
};

/** What the agent's start-up takes from the graph, in one piece. */
interface Agent {
  files: FsLocalFiles;
  connection: ServerConnection;
}

/** Host filesystem and sudo: the agent's hands; with a PushLog, each backup is logged. */
const filesModule = (log?: PushLog): ContainerModule =>
  new ContainerModule(({ bind }) => {
    provide(bind, T.files, [T.config], (c) => {
      const options = { dataDir: c.dataDir, hashWorker: c.hashThread };
      return log ? new BackupLoggingFiles(options, log) : new FsLocalFiles(options);
    });
    provide(bind, T.privileged, [T.config], (c) => new SudoPrivilegedFiles({ dataDir: c.dataDir }));
    provide(bind, T.validatorRunner, [], () => new ChildProcessValidatorRunner());
  });

/** The [file-reception] settings the use cases run with. */
const settingsModule = new ContainerModule(({ bind }) => {
  provide(bind, T.settings, [T.config, T.realRoots], (c, roots) => {
    const flavor = agentFlavor();
    return {
      enabled: c.fileReception.enabled,
      protectedPaths: new ProtectedPaths(c.fileReception.protected, flavor, roots),
      flavor,
      backup: c.fileReception.backup,
      allowSpecialBits: c.fileReception.allowSpecialBits,
      backupKeep: c.fileReception.backupKeep,
      validators: c.fileReception.validators && {
        validators: c.fileReception.validators,
        timeoutMs: c.fileReception.validateTimeoutMs ?? DEFAULT_VALIDATE_TIMEOUT_MS,
      },
      diff: c.fileReception.diff,
    };
  });
});

/** ApplyOwnership and ReceiveFile, as the simulation wires them too. */
const useCases = receptionModule(T);

function agentFlavor(): 'posix' | 'windows' {
  return process.platform === 'win32' ? 'windows' : flavorOf('/');
}

/**
 * Where the `[file-reception] protected` patterns lead on this host (merged /usr: `/lib*` names
 * `/usr/lib`), found once at start: the agent has no config reload, so the expansion is not repeated
 * while it runs. Warnings go to the log when a logger is given.
 */
async function protectedRoots(config: ClientConfig, logger?: Logger): Promise<RealRoot[]> {
  const found = await expandProtectedRoots(config.fileReception.protected, { flavor: agentFlavor() });
  for (const warning of found.warnings) logger?.warn({ warning }, 'protected path expansion incomplete');
  logger?.info(
    { roots: found.roots.map((r) => `${r.pattern} -> ${r.real}`) },
    'protected paths resolved on this host',
  );
  return found.roots;
}

/**
 * The SSH link; the file source and the connection refer to each other through a late lookup. A push
 * that offers TLS is fetched over it, any other (or one whose TLS fetch fails at once) by SFTP.
 */
const linkModule = new ContainerModule(({ bind }) => {
  let connection: ServerConnection | undefined;
  let source: TlsFileSource | undefined;
  const offers = new FetchOffers();
  // One pacer per agent, counting its own transfer since the process's last scavenge: a process holding
  // many agents (the bench's fleets) then scavenges about as often as each agent would on its own host.
  const pacer = new ScavengePacer();
  const sftp = new SftpFileSource(
    {
      openSftp: () => connection!.openSftp(),
      corked: (send) => connection!.corked(send),
      get maxRead() {
        return connection!.maxRead;
      },
    },
    READS_IN_FLIGHT,
    (bytes) => pacer.moved(bytes),
  );
  provide(
    bind,
    T.source,
    [T.logger],
    (logger) =>
      (source = new TlsFileSource({
        offers,
        fallback: sftp,
        logger,
        received: (bytes) => pacer.moved(bytes),
      })),
  );
  provide(
    bind,
    T.connection,
    [T.config, T.logger, T.receive, T.pushLog, T.identity],
    (c, logger, receive, log, identity) =>
      (connection = new ServerConnection({
        transport: c.servers.map((s) => transportFor(s)),
        fingerprint: c.fingerprint,
        credentialId: c.credentialId,
        password: c.password,
        hello: {
          id: c.id,
          name: c.name,
          hostname: hostname(),
          os: process.platform,
          tags: c.tags,
          version: CLIENT_VERSION,
          file_reception: { enabled: c.fileReception.enabled, protected: c.fileReception.protected },
          features: AGENT_FEATURES,
        },
        identity,
        fetchOffers: offers,
        handler: {
          handle: async (req, onProgress) => {
            try {
              const verdict = await receive.execute(req, onProgress);
              log.verdict(req, verdict);
              return verdict;
            } catch (e) {
              log.crashed(req, e);
              throw e;
            }
          },
          cancel: (req) => {
            log.cancelled(req);
            (source ?? sftp).cancel(req.sourceName);
          },
        },
        logger,
      })),
  );
  provideRecord(bind, T.agent, { files: T.files, connection: T.connection });
});

/**
 * The agent's ReceiveFile as buildClient wires it (real files, sudo, [file-reception] settings), with
 * the bytes from `source` instead of the SSH link: what the bench times as the agents' file work alone.
 */
export async function buildReception(config: ClientConfig, source: FileSource): Promise<ReceiveFile> {
  const roots = await protectedRoots(config);
  const container = new Container({ defaultScope: 'Singleton' });
  const given = new ContainerModule(({ bind }) => {
    constant(bind, T.config, config);
    constant(bind, T.clock, new SystemClock());
    constant(bind, T.source, source);
    constant(bind, T.realRoots, roots);
  });
  container.load(given, filesModule(), settingsModule, useCases);
  return resolve(container, T.receive);
}

/** Builds the agent: returns its connection, not yet started. */
export async function buildClient(config: ClientConfig, logger: Logger): Promise<ServerConnection> {
  const roots = await protectedRoots(config, logger);
  const pushLog = new PushLog(logger);
  // Made on first start: the client id is bound to it at the agent's first registration.
  const key = await loadOrCreateAgentKey(config.dataDir);
  logger.info({ key: key.fingerprint, path: key.path }, 'agent key loaded');
  const container = new Container({ defaultScope: 'Singleton' });
  const given = new ContainerModule(({ bind }) => {
    constant(bind, T.config, config);
    constant(bind, T.logger, logger);
    constant(bind, T.identity, key);
    constant(bind, T.realRoots, roots);
    constant(bind, T.clock, new SystemClock());
    constant(bind, T.pushLog, pushLog);
  });
  container.load(given, filesModule(pushLog), settingsModule, useCases, linkModule);
  const { files, connection } = resolve(container, T.agent);
  // Temp files a crash or kill -9 left in {data_dir}/filepush: no push can be live for them yet.
  const swept = await files.sweep().catch((e: unknown) => {
    throw dataDirError(config.dataDir, 'cannot clear the temp files in it', e);
  });
  if (swept > 0) logger.info({ count: swept }, 'removed stale temp files from an earlier run');
  return connection;
}
