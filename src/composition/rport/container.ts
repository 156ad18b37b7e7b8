import { ContainerModule, Container } from 'inversify';
import { hostname } from 'node:os';
import { ApplyOwnership } from '../../domain/apply-ownership.ts';
import { flavorOf } from '../../domain/destination.ts';
import { ProtectedPaths } from '../../domain/protected-paths.ts';
import { ReceiveFile, type ReceptionSettings } from '../../domain/receive-file.ts';
import type { Clock } from '../../ports/clock.ts';
import type { Logger } from '../../ports/logger.ts';
import type { FileSource } from '../../ports/file-source.ts';
import type { LocalFiles } from '../../ports/local-files.ts';
import type { PrivilegedFiles } from '../../ports/privileged-files.ts';
import { FsLocalFiles } from '../../adapters/fs/fs-local-files.ts';
import { SudoPrivilegedFiles } from '../../adapters/sudo/sudo-privileged-files.ts';
import type { ClientConfig } from '../../adapters/config/agent-config.ts';
import { transportFor } from '../../adapters/ssh/agent/transport.ts';
import { READS_IN_FLIGHT, SftpFileSource } from '../../adapters/ssh/agent/sftp-file-source.ts';
import { ScavengePacer } from '../../adapters/system/scavenge-pacer.ts';
import { ServerConnection } from '../../adapters/ssh/agent/server-connection.ts';
import { SystemClock } from '../../adapters/system/system-clock.ts';

export const CLIENT_VERSION = '0.1.0';

const T = {
  config: Symbol('ClientConfig'),
  logger: Symbol('Logger'),
  clock: Symbol('Clock'),
  files: Symbol('LocalFiles'),
  privileged: Symbol('PrivilegedFiles'),
  settings: Symbol('ReceptionSettings'),
  ownership: Symbol('ApplyOwnership'),
  receive: Symbol('ReceiveFile'),
  connection: Symbol('ServerConnection'),
  source: Symbol('SftpFileSource'),
};

/** Host filesystem and sudo: the agent's hands. */
const filesModule = new ContainerModule(({ bind }) => {
  bind<LocalFiles>(T.files).toResolvedValue(
    (c: ClientConfig) => new FsLocalFiles({ dataDir: c.dataDir, hashWorker: c.hashThread }),
    [T.config],
  );
  bind<PrivilegedFiles>(T.privileged).toResolvedValue(
    (c: ClientConfig) => new SudoPrivilegedFiles({ dataDir: c.dataDir }),
    [T.config],
  );
});

/** The use cases, with the settings from [file-reception]. */
const receptionModule = new ContainerModule(({ bind }) => {
  bind<ReceptionSettings>(T.settings).toResolvedValue(
    (c: ClientConfig) => {
      const flavor = process.platform === 'win32' ? 'windows' : flavorOf('/');
      return {
        enabled: c.fileReception.enabled,
        protectedPaths: new ProtectedPaths(c.fileReception.protected, flavor),
        flavor,
        backup: c.fileReception.backup,
      };
    },
    [T.config],
  );
  bind(T.ownership).toResolvedValue(
    (f: LocalFiles, p: PrivilegedFiles) => new ApplyOwnership(f, p),
    [T.files, T.privileged],
  );
  bind(T.receive).toResolvedValue(
    (
      f: LocalFiles,
      s: SftpFileSource,
      p: PrivilegedFiles,
      o: ApplyOwnership,
      r: ReceptionSettings,
      clock: Clock,
    ) => new ReceiveFile(f, s, p, o, r, clock),
    [T.files, T.source, T.privileged, T.ownership, T.settings, T.clock],
  );
});

/** The SSH link; the file source and the connection refer to each other through a late lookup. */
const linkModule = new ContainerModule(({ bind }) => {
  let connection: ServerConnection | undefined;
  // One pacer per agent, counting its own transfer since the process's last scavenge: a process holding
  // many agents (the bench's fleets) then scavenges about as often as each agent would on its own host.
  const pacer = new ScavengePacer();
  bind(T.source).toResolvedValue(
    () =>
      new SftpFileSource(
        {
          openSftp: () => connection!.openSftp(),
          corked: (send) => connection!.corked(send),
          get maxRead() {
            return connection!.maxRead;
          },
        },
        READS_IN_FLIGHT,
        (bytes) => pacer.moved(bytes),
      ),
    [],
  );
  bind(T.connection).toResolvedValue(
    (c: ClientConfig, logger: Logger, receive: ReceiveFile, source: SftpFileSource) =>
      (connection = new ServerConnection({
        transport: transportFor(c.server),
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
        },
        handler: {
          handle: (req, onProgress) => receive.execute(req, onProgress),
          cancel: (req) => source.cancel(req.sourceName),
        },
        logger,
      })),
    [T.config, T.logger, T.receive, T.source],
  );
});

/**
 * The agent's ReceiveFile as buildClient wires it (real files, sudo, [file-reception] settings), with
 * the bytes from `source` instead of the SSH link: what the bench times as the agents' file work alone.
 */
export async function buildReception(config: ClientConfig, source: FileSource): Promise<ReceiveFile> {
  const container = new Container({ defaultScope: 'Singleton' });
  container.bind(T.config).toConstantValue(config);
  container.bind(T.clock).toConstantValue(new SystemClock());
  container.bind(T.source).toConstantValue(source);
  await container.load(filesModule, receptionModule);
  return container.get<ReceiveFile>(T.receive);
}

/** Builds the agent: returns its connection, not yet started. */
export async function buildClient(config: ClientConfig, logger: Logger): Promise<ServerConnection> {
  const container = new Container({ defaultScope: 'Singleton' });
  container.bind(T.config).toConstantValue(config);
  container.bind(T.logger).toConstantValue(logger);
  container.bind(T.clock).toConstantValue(new SystemClock());
  await container.load(filesModule, receptionModule, linkModule);
  // Temp files a crash or kill -9 left in {data_dir}/filepush: no push can be live for them yet.
  const swept = await container.get<FsLocalFiles>(T.files).sweep();
  if (swept > 0) logger.info({ count: swept }, 'removed stale temp files from an earlier run');
  return container.get<ServerConnection>(T.connection);
}
