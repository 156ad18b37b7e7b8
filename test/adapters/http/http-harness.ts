import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Server } from 'node:http';
import { PassThrough } from 'node:stream';
import { parseServerConfig } from '../../../src/adapters/config/server-config.ts';
import { PinoLogger } from '../../../src/adapters/log/pino-logger.ts';
import type { SqliteApiUsers } from '../../../src/adapters/sqlite/sqlite-api-users.ts';
import { T } from '../../../src/composition/rportd/container.ts';
import { sshClientSide } from '../../../src/composition/rportd/agent-side.ts';
import { startServer, type RunningServer } from '../../../src/composition/rportd/start.ts';
import type { ClientInfo } from '../../../src/domain/client.ts';
import type { PushVerdict } from '../../../src/domain/outcome.ts';
import type { PushRequest } from '../../../src/domain/push-request.ts';
import type { ClientChannel, ClientChannels } from '../../../src/ports/client-channel.ts';
import type { ClientPresence } from '../../../src/ports/client-presence.ts';
import { watchAnswers } from '../../support/openapi-check.ts';

/** What a fake agent saw of a push: the request and the staged bytes it could read at that moment. */
export interface SeenPush {
  clientId: string;
  request: PushRequest;
  bytes: Buffer;
  md5: string;
}

/** In-memory agents: each "connected" client reads the staged file like an agent would, then answers a verdict. */
export class FakeAgents implements ClientChannels {
  readonly seen: SeenPush[] = [];
  private readonly verdicts = new Map<string, (r: PushRequest) => PushVerdict>();
  /** Byte counts a client reports as progress, in order, before its verdict. */
  private readonly progress = new Map<string, number[]>();
  stagingDir = '';

  channelFor(clientId: string): ClientChannel | undefined {
    const verdict = this.verdicts.get(clientId);
    if (!verdict) return undefined;
    return {
      push: async (request, _signal, onProgress) => {
        const bytes = await readFile(join(this.stagingDir, request.sourceName));
        this.seen.push({ clientId, request, bytes, md5: createHash('md5').update(bytes).digest('hex') });
        for (const b of this.progress.get(clientId) ?? []) onProgress?.({ bytes: b });
        return verdict(request);
      },
    };
  }

  /** Makes client id report these byte counts as progress during each push. */
  reportProgress(id: string, counts: number[]): void {
    this.progress.set(id, counts);
  }

  connect(
    id: string,
    verdict: (r: PushRequest) => PushVerdict = () => ({
      status: 'success',
      message: 'file successfully copied to destination',
    }),
  ): void {
    this.verdicts.set(id, verdict);
  }
}

export const clientInfo = (id: string, extra: Partial<ClientInfo> = {}): Omit<ClientInfo, 'connected'> => ({
  id,
  name: `name-${id}`,
  hostname: `${id}.example`,
  os: 'linux',
  tags: [],
  version: '0.1.0',
  fileReception: { enabled: true, protected: [] },
  ...extra,
});

/** The in-memory client side, written as a class: rportd must call its methods on it (they use `this`). */
export class FakeClientSide {
  /** Credential ids whose sessions rportd asked to end, in order. */
  readonly ended: string[] = [];

  constructor(readonly channels: FakeAgents) {}

  endSessionsOf(credentialId: string): number {
    this.ended.push(credentialId);
    return 0;
  }

  async close(): Promise<void> {}
}

export interface TestServer {
  server: RunningServer;
  url: string;
  dataDir: string;
  filepush: string;
  admin: { username: string; password: string };
  agents: FakeAgents;
  /** The in-memory client side (unused with sshAgents). */
  clientSide: FakeClientSide;
  presence: ClientPresence;
  /** Every log line written so far. */
  logLines: () => string[];
  login(username: string, password: string): Promise<string>;
  addUser(username: string, password: string, groups: string[]): Promise<void>;
  close(): Promise<void>;
}

export interface TestServerOptions {
  maxFilepushSize?: number;
  enableTestEndpoints?: boolean;
  /** Extra [api] keys, e.g. cert_file and key_file for HTTPS. */
  api?: Record<string, unknown>;
  /** Extra [server] keys, e.g. auth. */
  server?: Record<string, unknown>;
  /** The real SSH listener on [server] address instead of in-memory agents (`agents` stays empty then). */
  sshAgents?: boolean;
  /** A `[cluster]` section, e.g. nats_url. */
  cluster?: Record<string, unknown>;
}

/** Each running test server's answers that docs/openapi.json does not describe, and how many have a test named. */
const watched = new Map<{ problems: string[] }, number>();
// Registered at the root when a test file imports this harness: names the test behind each such
// answer. The failure itself comes when the server closes, so it fails one suite, not the whole run.
if (typeof afterEach === 'function')
  afterEach(function (this: Mocha.Context) {
    const title = this.currentTest?.fullTitle() ?? 'a hook';
    for (const [w, named] of watched) {
      for (let i = named; i < w.problems.length; i++) w.problems[i] = `[${title}] ${w.problems[i]}`;
      watched.set(w, w.problems.length);
    }
  });

/**
 * Checks every answer of a test's rportd against docs/openapi.json (test/support/openapi-check.ts).
 * Call the returned function after the server closed: it throws, listing the answers the document
 * does not describe.
 */
export function checkAnswersAgainstOpenapi(server: Server): () => void {
  const answers = watchAnswers(server);
  watched.set(answers, 0);
  return () => {
    watched.delete(answers);
    if (answers.problems.length > 0)
      throw new Error(
        `answers that docs/openapi.json does not describe:\n  ${answers.problems.join('\n  ')}`,
      );
  };
}

/**
 * A real rportd (HTTP on 127.0.0.1:0, SQLite in a temp data_dir) with in-memory agents. Every
 * answer it sends is checked against docs/openapi.json.
 */
export async function startTestServer(opts: TestServerOptions = {}): Promise<TestServer> {
  const dataDir = await mkdtemp(join(tmpdir(), 'rportd-http-'));
  const config = parseServerConfig(
    {
      server: {
        data_dir: dataDir,
        address: '127.0.0.1:0',
        max_filepush_size: opts.maxFilepushSize ?? 1024 * 1024,
        enable_ws_test_endpoints: opts.enableTestEndpoints ?? false,
        push_timeout: 10,
        // The tests check that a push leaves nothing staged once it ends; retries set their own.
        keep_staged_for: 0,
        ...opts.server,
      },
      // Many tests here send wrong passwords on purpose: the ban has its own test (auth-api.test.ts).
      api: { address: '127.0.0.1:0', max_failed_login: 1000, ...opts.api },
      logging: { level: 'debug' },
      ...(opts.cluster ? { cluster: opts.cluster } : {}),
    },
    dataDir,
  );
  const out = new PassThrough();
  const chunks: string[] = [];
  out.on('data', (c: Buffer) => chunks.push(c.toString()));
  const agents = new FakeAgents();
  const clientSide = new FakeClientSide(agents);
  let presence: ClientPresence | undefined;
  const server = await startServer(config, {
    logger: new PinoLogger({ level: 'debug', destination: out }),
    clientSide: async (d) => {
      presence = d.presence;
      if (opts.sshAgents) return sshClientSide(d);
      agents.stagingDir = d.stagingDir;
      return clientSide;
    },
  });
  const documented = checkAnswersAgainstOpenapi(server.http.server);
  const staticAuth = typeof opts.api?.auth === 'string' ? opts.api.auth : undefined;
  const admin = staticAuth
    ? { username: staticAuth.split(':')[0], password: staticAuth.slice(staticAuth.indexOf(':') + 1) }
    : server.initialAdmin;
  if (!admin) throw new Error('expected a first start with a generated admin');
  const login = async (username: string, password: string): Promise<string> => {
    const res = await fetch(`${server.url}/api/v1/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username, password }),
    });
    if (res.status !== 200)
      throw new Error(`login of ${username} answered ${res.status}: ${await res.text()}`);
    return ((await res.json()) as { data: { token: string } }).data.token;
  };
  return {
    server,
    url: server.url,
    dataDir,
    filepush: join(dataDir, 'filepush'),
    admin,
    agents,
    clientSide,
    presence: presence!,
    logLines: () => chunks.join('').split('\n').filter(Boolean),
    login,
    addUser: async (u, p, g) => {
      const refused = await server.container.get<SqliteApiUsers>(T.dbUsers).create(u, p, g);
      if (refused) throw new Error(`cannot add user ${u}: ${refused}`);
    },
    close: async () => {
      await server.close();
      await rm(dataDir, { recursive: true, force: true });
      documented();
    },
  };
}

/** Polls until check returns a value (not undefined), failing after a while with the last state. */
export async function eventually<V>(
  check: () => Promise<V | undefined>,
  what: string,
  tries = 200,
): Promise<V> {
  for (let i = 0; i < tries; i++) {
    const v = await check();
    if (v !== undefined) return v;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`timed out waiting for ${what}`);
}
