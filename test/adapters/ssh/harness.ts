import { createHash, randomUUID } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import ssh2 from 'ssh2';
import type { AcceptedUpload } from '../../../src/domain/accepted-upload.ts';
import { ApplyOwnership } from '../../../src/domain/apply-ownership.ts';
import { DispatchToClients } from '../../../src/domain/dispatch-to-clients.ts';
import type { PushOutcome } from '../../../src/domain/outcome.ts';
import { ProtectedPaths } from '../../../src/domain/protected-paths.ts';
import { stagedName } from '../../../src/domain/push-request.ts';
import { ReceiveFile } from '../../../src/domain/receive-file.ts';
import { ReportResult } from '../../../src/domain/report-result.ts';
import { TcpTransport, type AgentTransport } from '../../../src/adapters/ssh/agent/transport.ts';
import { SftpFileSource } from '../../../src/adapters/ssh/agent/sftp-file-source.ts';
import { ServerConnection } from '../../../src/adapters/ssh/agent/server-connection.ts';
import { FetchOffers, TlsFileSource } from '../../../src/adapters/tls/tls-file-source.ts';
import type { AgentListenerSettings } from '../../../src/adapters/ssh/server/agent-listener.ts';
import type { FileTlsSettings } from '../../../src/adapters/tls/file-tls-listener.ts';
import {
  startClientListener,
  type StartedClientListener,
} from '../../../src/composition/rportd/agent-side.ts';
import {
  CollectingResults,
  DirStaging,
  MapCredentials,
  NoPrivileges,
  nullAudit,
  quietLogger,
  realClock,
  RecordingPresence,
  SetLiveTransfers,
} from './fakes.ts';
import { TempDirLocalFiles } from './temp-dir-local-files.ts';
import type { ClientCredentials } from '../../../src/ports/client-credentials.ts';
import type { ClientKeys } from '../../../src/ports/client-keys.ts';
import { ClientIdentity } from '../../../src/domain/client-identity.ts';
import { InMemoryAuditLog } from '../../../src/adapters/memory/in-memory-audit-log.ts';
import { InMemoryClientKeys } from '../../../src/adapters/memory/in-memory-client-keys.ts';
import { loadOrCreateAgentKey, type AgentIdentity } from '../../../src/adapters/ssh/agent/agent-key.ts';

export const PASSWORD = 'correct horse battery staple';
export const CREDENTIALS = { agents: PASSWORD };

export interface TestServer extends StartedClientListener {
  dataDir: string;
  stagingDir: string;
  presence: RecordingPresence;
  transfers: SetLiveTransfers;
  results: CollectingResults;
  /** The bindings of client ids to agent keys, and the audit log their decisions go to. */
  keys: ClientKeys;
  identity: ClientIdentity;
  audit: InMemoryAuditLog;
  logger: ReturnType<typeof quietLogger>;
  /** Stages content and pushes it to the targets through the real DispatchToClients; resolves with the outcomes. */
  push(
    content: Buffer | { size: number; write: (path: string) => Promise<string> },
    targets: string[],
    destination: string,
    timeoutMs?: number,
    /** Fields of the upload to set, e.g. check and diff. */
    over?: Partial<AcceptedUpload>,
  ): Promise<PushOutcome[]>;
  stop(): Promise<void>;
}

/** A bare ssh2 client logged in as credential `agents` (no agent behind it); rejects with ssh2's error, or when the server closes first. */
export function connectRaw(port: number, password = PASSWORD): Promise<ssh2.Client> {
  return new Promise((resolve, reject) => {
    const c = new ssh2.Client();
    c.once('ready', () => resolve(c));
    c.once('error', reject);
    c.once('close', () => reject(new Error('connection closed by the server')));
    c.connect({
      host: '127.0.0.1',
      port,
      username: 'agents',
      password,
      hostVerifier: () => true,
      readyTimeout: 5000,
    });
  });
}

export async function tempDir(prefix: string): Promise<string> {
  return mkdtemp(join(tmpdir(), `rport-ssh-${prefix}-`));
}

export async function startServer(
  opts: {
    dataDir?: string;
    port?: number;
    settings?: Partial<AgentListenerSettings>;
    credentials?: ClientCredentials;
    /** The client key bindings (to keep them across a restart); new and empty by default. */
    keys?: ClientKeys;
    /**
     * The TLS fetch: true, its own listener on a free loopback port (`[server] file_tls_address`);
     * 'ssh-port', on the SSH port (`[server] file_tls`, rportd's default).
     */
    fileTls?: boolean | 'ssh-port';
    /** The TLS fetch's bounds, for tests that reach them. */
    fileTlsSettings?: Partial<FileTlsSettings>;
    /** `[server] file_tls_min_size`: smaller pushes go by SFTP (none when absent). */
    fileTlsMinSize?: number;
  } = {},
): Promise<TestServer> {
  const dataDir = opts.dataDir ?? (await tempDir('server'));
  const stagingDir = join(dataDir, 'filepush');
  await mkdir(stagingDir, { recursive: true });
  const presence = new RecordingPresence();
  const transfers = new SetLiveTransfers();
  const results = new CollectingResults();
  const logger = quietLogger();
  const keys = opts.keys ?? new InMemoryClientKeys();
  const audit = new InMemoryAuditLog();
  const identity = new ClientIdentity(keys, audit, realClock);
  const started = await startClientListener({
    config: {
      address: `127.0.0.1:${opts.port ?? 0}`,
      dataDir,
      settings: opts.settings,
      ...(opts.fileTls === true
        ? {
            fileTls: { address: '127.0.0.1:0', settings: opts.fileTlsSettings, minSize: opts.fileTlsMinSize },
          }
        : {}),
      ...(opts.fileTls === 'ssh-port'
        ? { fileTls: { settings: opts.fileTlsSettings, minSize: opts.fileTlsMinSize } }
        : {}),
    },
    credentials: opts.credentials ?? new MapCredentials(CREDENTIALS),
    presence,
    identity,
    transfers,
    stagingDir,
    logger,
  });
  const report = new ReportResult(results, results, nullAudit, realClock);
  const dispatch = new DispatchToClients(
    started.channels,
    transfers,
    new DirStaging(stagingDir),
    report,
    realClock,
    logger,
    {
      concurrency: 8,
      timeoutMs: 60_000,
    },
  );
  return {
    ...started,
    dataDir,
    stagingDir,
    presence,
    transfers,
    results,
    keys,
    identity,
    audit,
    logger,
    async push(content, targets, destination, timeoutMs, over = {}) {
      const uuid = randomUUID();
      const path = join(stagingDir, stagedName(uuid));
      let md5: string;
      let size: number;
      if (Buffer.isBuffer(content)) {
        await writeFile(path, content);
        md5 = createHash('md5').update(content).digest('hex');
        size = content.length;
      } else {
        md5 = await content.write(path);
        size = content.size;
      }
      const upload: AcceptedUpload = {
        staged: { uuid, name: stagedName(uuid), size, md5, sha256: '' },
        filename: 'f',
        destination,
        force: true,
        sync: false,
        mode: 0o640,
        ownership: {},
        targets,
        requestedBy: 'admin',
        ...over,
      };
      const before = results.outcomes.length;
      const d =
        timeoutMs === undefined
          ? dispatch
          : new DispatchToClients(
              started.channels,
              transfers,
              new DirStaging(stagingDir),
              report,
              realClock,
              logger,
              { concurrency: 8, timeoutMs },
            );
      await d.execute(upload);
      return results.outcomes.slice(before).filter((o) => o.uuid === uuid);
    },
    async stop() {
      await started.close();
    },
  };
}

export interface TestAgent {
  id: string;
  dataDir: string;
  connection: ServerConnection;
  failures: Error[];
  /** What the agent's connection logged (connects, switches, retries). */
  logger: ReturnType<typeof quietLogger>;
  stop(): Promise<void>;
}

export async function startAgent(
  server: { port: number; fingerprint: string },
  id: string,
  opts: {
    /** One server, or a list tried in order (`[client] server = [...]`). */
    transport?: AgentTransport | AgentTransport[];
    fingerprint?: string;
    credentialId?: string;
    password?: string;
    wait?: boolean;
    backoffMs?: number;
    dataDir?: string;
    /** The agent's key; by default its own, made in its data_dir as rport makes it. */
    identity?: AgentIdentity;
    /** hello.features: the optional push fields the agent announces (none, as an older agent, by default). */
    features?: string[];
    /** Take TLS fetch offers (TlsFileSource over the SFTP source); add `tls-fetch` to features to be offered any. */
    tls?: boolean;
  } = {},
): Promise<TestAgent> {
  const dataDir = opts.dataDir ?? (await tempDir(`agent-${id}`));
  const files = new TempDirLocalFiles(dataDir);
  const privileged = new NoPrivileges();
  const logger = quietLogger();
  const late: { source?: SftpFileSource | TlsFileSource } = {};
  const offers = new FetchOffers();
  const receive = new ReceiveFile(
    files,
    { open: (req) => late.source!.open(req) },
    privileged,
    new ApplyOwnership(files, privileged),
    {
      enabled: true,
      protectedPaths: ProtectedPaths.defaults('posix'),
      flavor: 'posix',
      backup: false,
      allowSpecialBits: false,
    },
    realClock,
  );
  const connection = new ServerConnection({
    transport: opts.transport ?? new TcpTransport('127.0.0.1', server.port),
    fingerprint: opts.fingerprint ?? server.fingerprint,
    credentialId: opts.credentialId ?? 'agents',
    password: opts.password ?? PASSWORD,
    hello: {
      id,
      name: `agent ${id}`,
      hostname: `host-${id}`,
      os: 'linux',
      tags: ['test'],
      version: '0.1.0',
      file_reception: { enabled: true, protected: [] },
      ...(opts.features ? { features: opts.features } : {}),
    },
    identity: opts.identity ?? (await loadOrCreateAgentKey(dataDir)),
    handler: {
      handle: (req, onProgress) => receive.execute(req, onProgress),
      cancel: (req) => late.source?.cancel(req.sourceName),
    },
    logger,
    backoff: { initialMs: opts.backoffMs ?? 100, maxMs: 1000 },
    ...(opts.tls ? { fetchOffers: offers } : {}),
  });
  const sftp = new SftpFileSource(connection);
  late.source = opts.tls ? new TlsFileSource({ offers, fallback: sftp, logger }) : sftp;
  const failures: Error[] = [];
  connection.on('failure', (e: Error) => failures.push(e));
  const connected = connection.waitConnected();
  connection.start();
  if (opts.wait !== false) await connected;
  return {
    id,
    dataDir,
    connection,
    failures,
    logger,
    async stop() {
      await connection.stop();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}
