// One real agent, wired like src/composition/rport/container.ts but with timing decorators around its
// FileSource and LocalFiles, so that a push's time splits into transfer, hash+write, fsync and place.
import { createHash } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { hostname } from 'node:os';
import { FsLocalFiles } from '../../src/adapters/fs/fs-local-files.ts';
import { TcpTransport } from '../../src/adapters/ssh/agent/transport.ts';
import { MAX_READ } from '../../src/adapters/ssh/protocol.ts';
import { READS_IN_FLIGHT, SftpFileSource } from '../../src/adapters/ssh/agent/sftp-file-source.ts';
import { ServerConnection } from '../../src/adapters/ssh/agent/server-connection.ts';
import { TLS_FETCH_FEATURE } from '../../src/adapters/tls/fetch-offer.ts';
import { FetchOffers, TlsFileSource } from '../../src/adapters/tls/tls-file-source.ts';
import { loadOrCreateAgentKey } from '../../src/adapters/ssh/agent/agent-key.ts';
import { ScavengePacer } from '../../src/adapters/system/scavenge-pacer.ts';
import { SudoPrivilegedFiles } from '../../src/adapters/sudo/sudo-privileged-files.ts';
import { ApplyOwnership } from '../../src/domain/apply-ownership.ts';
import { DEFAULT_PROTECTED_POSIX, ProtectedPaths } from '../../src/domain/protected-paths.ts';
import type { PushRequest } from '../../src/domain/push-request.ts';
import { ReceiveFile } from '../../src/domain/receive-file.ts';
import type { Clock } from '../../src/ports/clock.ts';
import type { Logger } from '../../src/ports/logger.ts';
import type { FileSource } from '../../src/ports/file-source.ts';
import type { LocalFiles, TempFile } from '../../src/ports/local-files.ts';
import { serveRole } from '../lib/role.ts';

/** Where one push's time went, in ms, as seen from the agent. */
export interface PushPhases {
  /** From the push request to the verdict. */
  total: number;
  /** Before the fetch: destination checks (lstat, realpath). */
  checks: number;
  /** SFTP open + fstat + the first READ answered. */
  firstByte: number;
  /** Waiting for the network (the consumer asked for the next chunk and it was not there yet). */
  transferWait: number;
  /** The consumer's own time: md5 and copying chunks into batches, and waiting for the writes. */
  hashAndWrite: number;
  /** For scale: md5 over the same bytes, timed on its own. */
  hashAlone: number;
  /** fsync + close of the temp file after the last chunk. */
  fsync: number;
  /** chmod/chown of the temp file. */
  ownership: number;
  /** Rename onto the destination + fsync of its directory. */
  place: number;
  bytes: number;
  /** Wall clock (epoch ms) when the push request arrived and when the verdict was ready. */
  receivedAt: number;
  verdictAt: number;
  /** TLS fetches that fell back to SFTP since the start (the TLS row must show none). */
  fallbacks: number;
}

const now = (): number => performance.now();
let phases: Partial<PushPhases> = {};
let handleStarted = 0;
let fetchStarted = 0;
let fallbacks = 0;

class TimedFileSource implements FileSource {
  constructor(private readonly inner: FileSource) {}
  async *open(request: PushRequest): AsyncIterable<Uint8Array> {
    const it = this.inner.open(request)[Symbol.asyncIterator]();
    let wait = 0;
    let bytes = 0;
    for (;;) {
      const t = now();
      const r = await it.next();
      if (bytes === 0) phases.firstByte = now() - fetchStarted;
      else wait += now() - t;
      if (r.done) break;
      bytes += r.value.byteLength;
      phases.transferWait = wait;
      phases.bytes = bytes;
      yield r.value;
    }
  }
}

/** Delegates to FsLocalFiles, timing writeTemp (split at the last chunk), ownership and place. */
class TimedLocalFiles implements LocalFiles {
  constructor(private readonly inner: FsLocalFiles) {}
  status = (p: string) => this.inner.status(p);
  resolveParents = (p: string) => this.inner.resolveParents(p);
  md5 = (p: string) => this.inner.md5(p);
  readUpTo = (p: string, max: number) => this.inner.readUpTo(p, max);
  lookup: LocalFiles['lookup'] = (o) => this.inner.lookup(o);
  backup = (d: string, s: string) => this.inner.backup(d, s);
  listBeside = (p: string) => this.inner.listBeside(p);
  removeBeside = (p: string, n: string) => this.inner.removeBeside(p, n);
  remove = (p: string) => this.inner.remove(p);
  changeInPlace: LocalFiles['changeInPlace'] = (p, c) => this.inner.changeInPlace(p, c);
  async chmod(p: string, mode: number): Promise<void> {
    const t = now();
    await this.inner.chmod(p, mode);
    phases.ownership = (phases.ownership ?? 0) + now() - t;
  }
  async chown(p: string, ids: Parameters<LocalFiles['chown']>[1]): Promise<void> {
    const t = now();
    await this.inner.chown(p, ids);
    phases.ownership = (phases.ownership ?? 0) + now() - t;
  }
  async writeTemp(name: string, content: AsyncIterable<Uint8Array>, compareWith?: string): Promise<TempFile> {
    fetchStarted = now();
    phases.checks = fetchStarted - handleStarted;
    let lastChunkDone = 0;
    async function* marked(): AsyncIterable<Uint8Array> {
      yield* content;
      lastChunkDone = now();
    }
    const temp = await this.inner.writeTemp(name, marked(), compareWith);
    const end = now();
    phases.fsync = end - lastChunkDone;
    phases.hashAndWrite = lastChunkDone - fetchStarted - (phases.firstByte ?? 0) - (phases.transferWait ?? 0);
    return temp;
  }
  async place(tempPath: string, destination: string, dirMode: number): Promise<void> {
    const t = now();
    await this.inner.place(tempPath, destination, dirMode);
    phases.place = now() - t;
  }
}

/** md5 over bytes in MAX_READ chunks, the way writeTemp sees them. */
function hashAlone(bytes: number): number {
  const chunk = Buffer.alloc(MAX_READ, 7);
  const h = createHash('md5');
  const t = now();
  for (let done = 0; done < bytes; done += chunk.length)
    h.update(done + chunk.length <= bytes ? chunk : chunk.subarray(0, bytes - done));
  h.digest();
  return now() - t;
}

const quiet: Logger = {
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: (f, m) => console.error(m, f),
};
const clock: Clock = {
  now: () => new Date(),
  sleep: (ms, signal) =>
    new Promise((resolve, reject) => {
      const t = setTimeout(resolve, ms);
      signal?.addEventListener('abort', () => (clearTimeout(t), reject(signal.reason)), { once: true });
    }),
};

let connection: ServerConnection | undefined;

async function start(a: Record<string, unknown>): Promise<{ id: string }> {
  const { port, fingerprint, credential, dataDir, id, tls, hashThread } = a as {
    port: number;
    fingerprint: string;
    credential: string;
    dataDir: string;
    id: string;
    /** Announce tls-fetch and take rportd's TLS offers (TlsFileSource over SFTP), as rport does. */
    tls?: boolean;
    /** `[file-reception] hash_thread = true`: md5 on the shared hashing thread (ADR 0006 addendum). */
    hashThread?: boolean;
  };
  await mkdir(dataDir, { recursive: true });
  const files = new TimedLocalFiles(new FsLocalFiles({ dataDir, hashWorker: hashThread === true }));
  const privileged = new SudoPrivilegedFiles({ dataDir });
  // The file source and the connection refer to each other, as in src/composition/rport/container.ts.
  const link: { sftp?: SftpFileSource; tls?: TlsFileSource } = {};
  const offers = new FetchOffers();
  const source = new TimedFileSource({ open: (req) => (link.tls ?? link.sftp!).open(req) });
  const receive = new ReceiveFile(
    files,
    source,
    privileged,
    new ApplyOwnership(files, privileged),
    {
      enabled: true,
      protectedPaths: new ProtectedPaths(DEFAULT_PROTECTED_POSIX, 'posix'),
      flavor: 'posix',
      backup: false,
      allowSpecialBits: false,
    },
    clock,
  );
  const colon = credential.indexOf(':');
  connection = new ServerConnection({
    transport: new TcpTransport('127.0.0.1', port),
    fingerprint,
    credentialId: credential.slice(0, colon),
    password: credential.slice(colon + 1),
    hello: {
      id,
      name: id,
      hostname: hostname(),
      os: process.platform,
      tags: ['bench'],
      version: '0.1.0',
      file_reception: { enabled: true, protected: DEFAULT_PROTECTED_POSIX },
      ...(tls ? { features: [TLS_FETCH_FEATURE] } : {}),
    },
    ...(tls ? { fetchOffers: offers } : {}),
    identity: await loadOrCreateAgentKey(dataDir),
    handler: {
      handle: async (req, onProgress) => {
        phases = { receivedAt: Date.now() };
        handleStarted = now();
        const verdict = await receive.execute(req, onProgress);
        phases.total = now() - handleStarted;
        phases.verdictAt = Date.now();
        return verdict;
      },
      cancel: (req) => (link.tls ?? link.sftp)?.cancel(req.sourceName),
    },
    logger: quiet,
  });
  // As src/composition/rport/container.ts: a scavenge every 2 MiB received (its cost belongs in the figure).
  const pacer = new ScavengePacer();
  link.sftp = new SftpFileSource(connection, READS_IN_FLIGHT, (bytes) => pacer.moved(bytes));
  if (tls)
    link.tls = new TlsFileSource({
      offers,
      fallback: link.sftp,
      // A fallback to SFTP shows in the bench's log: the TLS row would otherwise measure SFTP.
      logger: { ...quiet, warn: (f, m) => (fallbacks++, console.error(m, f)) },
      received: (bytes) => pacer.moved(bytes),
    });
  const connected = connection.waitConnected();
  connection.start();
  await connected;
  return { id };
}

serveRole({
  start,
  phases: () => ({ ...phases, hashAlone: hashAlone(phases.bytes ?? 0), fallbacks }),
  stop: () => connection?.stop(),
});
