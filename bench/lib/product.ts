import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BenchContext } from './bench-case.ts';
import type { ChildProcess } from 'node:child_process';
import { freePort, waitForPort } from './net.ts';
import { loadOrCreateHostKey } from '../../src/adapters/ssh/host-key.ts';
import { RportApiClient } from '../../src/adapters/rportcli-api/rport-api-client.ts';
import type { WsResultsListener } from '../../src/adapters/rportcli-api/ws-results-listener.ts';
import type { LiveOutcome } from '../../src/adapters/rportcli-api/api-types.ts';

const ROOT = new URL('../../', import.meta.url);
const SERVER_ENTRY = new URL('src/composition/rportd/main.ts', ROOT);
/** The programs as shipped: compiled JS from dist/ (bench/run.ts builds it when stale). */
export const RPORTD_BIN = fileURLToPath(new URL('bin/rportd.js', ROOT));
export const RPORT_BIN = fileURLToPath(new URL('bin/rport.js', ROOT));
const CLIENT_ENTRY = new URL('src/composition/rport/main.ts', ROOT);
const CLIENT_ROOT = new URL('src/composition/rport/container.ts', ROOT);

export const AGENT_CREDENTIAL = { id: 'bench-agents', password: 'bench agents password 0123456789' };
export const API_USER = { user: 'bench-admin', password: 'bench admin password 0123456789' };

/** --cpu-prof into a directory of this process's own (tsx's loader thread writes a profile too). */
export function profileArgs(ctx: BenchContext, name: string): string[] {
  return ctx.profileDir
    ? ['--cpu-prof', `--cpu-prof-dir=${join(ctx.profileDir, `${name}-${Date.now()}`)}`]
    : [];
}

/** Why our side cannot be measured yet (a product piece is missing), or undefined. */
export function productMissing(part: 'server' | 'agent' | 'both' = 'both'): string | undefined {
  const need = [
    ...(part !== 'agent' ? [SERVER_ENTRY] : []),
    ...(part !== 'server'
      ? [CLIENT_ENTRY, CLIENT_ROOT, new URL('src/adapters/fs/fs-local-files.ts', ROOT)]
      : []),
  ];
  const gone = need.filter((u) => !existsSync(u));
  return gone.length
    ? `not in the tree yet: ${gone.map((u) => fileURLToPath(u).slice(fileURLToPath(ROOT).length)).join(', ')}`
    : undefined;
}

export interface Rportd {
  pid: number;
  process: ChildProcess;
  dataDir: string;
  sshPort: number;
  fingerprint: string;
  apiUrl: string;
  uploadUrl: string;
  authHeaders: Record<string, string>;
  /** Resolves when count outcomes of the upload arrived on the results WebSocket; with the arrival times of the first and the last. */
  outcomes(
    uuid: string,
    count: number,
    timeoutMs: number,
  ): Promise<{ firstAt: number; lastAt: number; outcomes: LiveOutcome[] }>;
  /** The last lines it logged. */
  tail(): string;
  stop(): Promise<void>;
}

export interface RportdOptions {
  maxFilepushSize?: number;
  pushConcurrency?: number;
  name?: string;
  dataDir?: string;
  sshPort?: number;
  /**
   * How agents that announce tls-fetch get the file: over TLS on the SSH port (the default,
   * docs/adr/0009), over SFTP only (`file_tls = false`), or from a TLS listener of its own
   * (`file_tls_address`).
   */
  fetch?: 'default' | 'sftp' | 'tls-listener';
}

/** Starts the real rportd (its own process, real SQLite, HTTP API and SSH listener) with a bench config. */
export async function startRportd(ctx: BenchContext, o: RportdOptions = {}): Promise<Rportd> {
  const name = o.name ?? 'rportd';
  const dataDir = o.dataDir ?? join(ctx.tmp, `${name}-data`);
  await mkdir(dataDir, { recursive: true });
  // Made here so that we know the fingerprint before it starts (rportd loads an existing key).
  const { fingerprint } = await loadOrCreateHostKey(dataDir);
  const sshPort = o.sshPort ?? (await freePort());
  const apiPort = await freePort();
  const config = join(dataDir, 'rportd.conf');
  await writeFile(
    config,
    [
      '[server]',
      `address = "127.0.0.1:${sshPort}"`,
      `data_dir = ${JSON.stringify(dataDir)}`,
      `max_filepush_size = ${o.maxFilepushSize ?? 512 * 1024 * 1024}`,
      `auth = "${AGENT_CREDENTIAL.id}:${AGENT_CREDENTIAL.password}"`,
      ...(o.pushConcurrency ? [`push_concurrency = ${o.pushConcurrency}`] : []),
      ...(o.fetch === 'tls-listener' ? [`file_tls_address = "127.0.0.1:${await freePort()}"`] : []),
      ...(o.fetch === 'sftp' ? ['file_tls = false'] : []),
      '',
      '[api]',
      `address = "127.0.0.1:${apiPort}"`,
      `auth = "${API_USER.user}:${API_USER.password}"`,
      '',
      '[logging]',
      'log_level = "warn"',
      '',
    ].join('\n'),
  );
  const nodeArgs = profileArgs(ctx, name);
  const child = ctx.children.spawn(process.execPath, [...nodeArgs, RPORTD_BIN, '--config', config], {
    cwd: dataDir,
  });
  let log = '';
  const keep = (c: Buffer): void => void (log = (log + c.toString()).slice(-8192));
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const gone = new Promise<never>((_, reject) =>
    child.once('exit', (code, sig) =>
      reject(new Error(`${name} exited with ${sig ?? code}: ${log.trim().slice(-1500)}`)),
    ),
  );
  gone.catch(() => undefined);
  await waitForPort(apiPort, 30_000, `${name} (API)`, gone);
  await waitForPort(sshPort, 30_000, `${name} (SSH)`, gone);
  const apiUrl = `http://127.0.0.1:${apiPort}`;
  const api = new RportApiClient(apiUrl, { username: API_USER.user, password: API_USER.password });
  const listener: WsResultsListener = await api.listen();
  return {
    pid: child.pid!,
    process: child,
    dataDir,
    sshPort,
    fingerprint,
    apiUrl,
    uploadUrl: `${apiUrl}/api/v1/files`,
    authHeaders: {
      authorization: `Basic ${Buffer.from(`${API_USER.user}:${API_USER.password}`).toString('base64')}`,
    },
    outcomes(uuid, count, timeoutMs) {
      return new Promise((resolve, reject) => {
        const got: LiveOutcome[] = [];
        let firstAt = 0;
        const timer = setTimeout(() => {
          stop();
          reject(
            new Error(
              `${name}: ${got.length} of ${count} outcomes of upload ${uuid} within ${timeoutMs / 1000} s`,
            ),
          );
        }, timeoutMs);
        const stop = listener.follow(uuid, (o) => {
          if (o.status === 'pending') return;
          if (got.push(o) === 1) firstAt = performance.now();
          if (got.length < count) return;
          clearTimeout(timer);
          stop();
          resolve({ firstAt, lastAt: performance.now(), outcomes: got });
        });
        gone.catch((e: Error) => (clearTimeout(timer), reject(e)));
      });
    },
    tail: () => log.trim().split('\n').slice(-10).join('\n'),
    async stop() {
      listener.close();
      await ctx.children.kill(child, 10_000);
    },
  };
}

/** The uuid in an upload's JSON answer. */
export function uuidOf(body: string): string {
  const data = JSON.parse(body) as { uuid?: string; data?: { uuid?: string } };
  const uuid = data.uuid ?? data.data?.uuid;
  if (!uuid) throw new Error(`the upload answer holds no uuid: ${body.slice(0, 200)}`);
  return uuid;
}

export interface Fleet {
  pid: number;
  ids: string[];
  stop(): Promise<void>;
}

export interface FleetStart {
  ids: string[];
  /** From starting the agents to the last one registered. */
  ms: number;
  /** Failed attempts that the agents retried. */
  retries: number;
  /** Agents still not registered at the timeout. */
  failed: number;
  lastError?: string;
}

export interface FleetOptions {
  name: string;
  count: number;
  timeoutMs?: number;
}

/** Where a fleet's agents keep their data_dirs (default: the benchmark's temp dir). */
export interface FleetPlace {
  dataRoot?: string;
}

/** A process holding many real agents (bench/roles/agent-fleet.ts); start() adds more, all at once. */
export function forkFleet(ctx: BenchContext, server: Rportd, name: string, place: FleetPlace = {}) {
  const nodeArgs = profileArgs(ctx, name);
  const role = ctx.children.fork(name, new URL('../roles/agent-fleet.ts', import.meta.url), [], { nodeArgs });
  role.on('progress', (m) =>
    ctx.log(
      `${name}: ${String(m.connected)}/${String(m.count)} registered, ${String(m.retries)} retried attempts`,
    ),
  );
  return {
    role,
    pid: role.pid,
    async start(count: number, prefix: string, timeoutMs = 120_000): Promise<FleetStart> {
      await role.ready;
      return role.call<FleetStart>('start', {
        server: `127.0.0.1:${server.sshPort}`,
        fingerprint: server.fingerprint,
        credential: `${AGENT_CREDENTIAL.id}:${AGENT_CREDENTIAL.password}`,
        count,
        prefix,
        dataRoot: place.dataRoot ?? join(ctx.tmp, `${name}-agents`),
        timeoutMs,
      });
    },
    stats: () => role.call<{ agents: number; connected: number; warn: number; error: number }>('stats'),
    async stop(): Promise<void> {
      await role.call('stop').catch(() => undefined);
      await ctx.children.kill(role);
    },
  };
}

/** A fleet of count agents, all registered. */
export async function startFleet(ctx: BenchContext, server: Rportd, o: FleetOptions): Promise<Fleet> {
  const fleet = forkFleet(ctx, server, o.name);
  const s = await fleet.start(o.count, o.name, o.timeoutMs);
  if (s.failed)
    throw new Error(
      `${o.name}: ${s.failed} of ${o.count} agents did not register (${s.lastError ?? 'no error logged'})`,
    );
  return { pid: fleet.pid, ids: s.ids, stop: fleet.stop };
}

/** Creates a client group through the API (one upload can carry at most ~1000 form fields, so big fan-outs use a group). */
export async function createGroup(server: Rportd, id: string, clientIdPatterns: string[]): Promise<void> {
  const res = await fetch(`${server.apiUrl}/api/v1/client-groups`, {
    method: 'POST',
    headers: { ...server.authHeaders, 'content-type': 'application/json' },
    body: JSON.stringify({ id, description: 'bench fan-out', params: { client_id: clientIdPatterns } }),
  });
  if (!res.ok)
    throw new Error(`creating client group ${id}: HTTP ${res.status}: ${(await res.text()).slice(0, 300)}`);
}
