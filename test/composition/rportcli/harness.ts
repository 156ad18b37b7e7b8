import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { parseServerConfig } from '../../../src/adapters/config/server-config.ts';
import { PinoLogger } from '../../../src/adapters/log/pino-logger.ts';
import { runCli } from '../../../src/composition/rportcli/program.ts';
import type { CliIo } from '../../../src/composition/rportcli/output.ts';
import { startServer, type RunningServer } from '../../../src/composition/rportd/start.ts';
import type { ClientInfo } from '../../../src/domain/client.ts';
import { checkAnswersAgainstOpenapi, clientInfo } from '../../adapters/http/http-harness.ts';
import type { PushVerdict } from '../../../src/domain/outcome.ts';
import type { PushRequest } from '../../../src/domain/push-request.ts';
import type { ClientChannel, ClientChannels, PushProgress } from '../../../src/ports/client-channel.ts';
import type { ClientPresence } from '../../../src/ports/client-presence.ts';

export type Answer = (
  request: PushRequest,
  signal: AbortSignal,
  onProgress?: (p: PushProgress) => void,
) => Promise<PushVerdict>;

export const placed: Answer = async (r) => ({
  status: 'success',
  message: `file successfully copied to ${r.destination}`,
});
export const refused: Answer = async (r) => ({
  status: 'error',
  message: `rename ${r.sourceName} ${r.destination}: permission denied`,
});
/** Never answers: the server keeps waiting until its push_timeout or until the harness closes. */
export const silent: Answer = (_r, signal) =>
  new Promise((_resolve, reject) =>
    signal.addEventListener('abort', () => reject(signal.reason as Error), { once: true }),
  );

/** In-memory connected agents: each answers a push the way its Answer says. */
class ScriptedAgents implements ClientChannels {
  private readonly answers = new Map<string, Answer>();
  /** Aborted on close, so a silent agent does not outlive the test. */
  readonly closing = new AbortController();

  channelFor(clientId: string): ClientChannel | undefined {
    const answer = this.answers.get(clientId);
    if (!answer) return undefined;
    return {
      push: (request, signal, onProgress) =>
        answer(request, AbortSignal.any([signal, this.closing.signal]), onProgress),
    };
  }

  set(id: string, answer: Answer): void {
    this.answers.set(id, answer);
  }
}

export interface CliServer {
  url: string;
  server: RunningServer;
  dataDir: string;
  admin: { username: string; password: string };
  /** Announces a connected client answering pushes with answer. */
  connect(id: string, answer: Answer, extra?: Partial<ClientInfo>): Promise<void>;
  /** Files in {data_dir}/filepush now. */
  staged(): Promise<string[]>;
  close(): Promise<void>;
}

/**
 * A real rportd: HTTP on 127.0.0.1:0 (HTTPS when api gives cert_file and key_file), SQLite in a
 * temp data_dir, agents scripted in memory.
 */
export async function startCliServer(
  maxFilepushSize = 1024 * 1024,
  api: Record<string, unknown> = {},
): Promise<CliServer> {
  const dataDir = await mkdtemp(join(tmpdir(), 'rportcli-server-'));
  const config = parseServerConfig(
    {
      server: {
        data_dir: dataDir,
        address: '127.0.0.1:0',
        max_filepush_size: maxFilepushSize,
        push_timeout: 60,
      },
      api: { address: '127.0.0.1:0', ...api },
      logging: { level: 'warn' },
    },
    dataDir,
  );
  const agents = new ScriptedAgents();
  let presence: ClientPresence | undefined;
  const server = await startServer(config, {
    logger: new PinoLogger({ level: 'warn', destination: new PassThrough().resume() }),
    clientSide: async (d) => {
      presence = d.presence;
      return { channels: agents, close: async () => undefined };
    },
  });
  if (!server.initialAdmin || !presence)
    throw new Error('expected a first start with a generated admin and a client side');
  const announce = presence;
  const documented = checkAnswersAgainstOpenapi(server.http.server);
  return {
    url: server.url,
    server,
    dataDir,
    admin: server.initialAdmin,
    connect: async (id, answer, extra) => {
      agents.set(id, answer);
      await announce.announce(clientInfo(id, extra));
    },
    staged: async () => readdir(join(dataDir, 'filepush')).catch(() => []),
    close: async () => {
      agents.closing.abort(new Error('test server closing'));
      await server.close();
      await rm(dataDir, { recursive: true, force: true });
      documented();
    },
  };
}

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs rportcli in this process with captured, non-TTY output and the given environment only.
 * With stdin, the input is a terminal-like stream that holds it, for the prompts.
 */
export async function cli(
  args: string[],
  env: Record<string, string | undefined>,
  stdinText?: string,
): Promise<CliRun> {
  const out: string[] = [];
  const err: string[] = [];
  const stdout = new PassThrough().on('data', (c: Buffer) => out.push(c.toString()));
  const stderr = new PassThrough().on('data', (c: Buffer) => err.push(c.toString()));
  const stdin =
    stdinText === undefined ? new PassThrough() : Object.assign(new PassThrough(), { isTTY: true });
  if (stdinText !== undefined) stdin.end(stdinText);
  const io: CliIo = { stdout, stderr, stdin, env };
  const code = await runCli(args, io);
  return { code, stdout: out.join(''), stderr: err.join('') };
}

/**
 * An admin's working folder for rportcli: a temp dir holding one file to upload, and the
 * environment that points rportcli at srv as its admin, with its config kept inside the dir.
 */
export async function adminHome(
  srv: CliServer,
  prefix: string,
  fileName: string,
  content: string,
): Promise<{ home: string; file: string; env: Record<string, string> }> {
  const home = await mkdtemp(join(tmpdir(), prefix));
  const file = join(home, fileName);
  await writeFile(file, content);
  const env = {
    XDG_CONFIG_HOME: join(home, 'config'),
    RPORT_API_URL: srv.url,
    RPORT_API_USER: srv.admin.username,
    RPORT_API_PASSWORD: srv.admin.password,
  };
  return { home, file, env };
}
