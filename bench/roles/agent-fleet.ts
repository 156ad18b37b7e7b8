// Many real agents in one process: each built by the agent's own composition root (buildClient:
// ServerConnection + SftpFileSource + ReceiveFile + FsLocalFiles), each with its own data_dir.
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { ServerConnection } from '../../src/adapters/ssh/agent/server-connection.ts';
import { buildClient } from '../../src/composition/rport/container.ts';
import type { Logger } from '../../src/ports/logger.ts';
import { benchAgentConfig } from '../lib/agent-config.ts';
import { emit, serveRole } from '../lib/role.ts';

const agents: ServerConnection[] = [];
const counts = { warn: 0, error: 0 };
const lastError: string[] = [];
const logger: Logger = {
  debug: () => undefined,
  info: () => undefined,
  warn: (f, m) => void ((counts.warn += 1), lastError.splice(0, 1, `${m} ${JSON.stringify(f)}`)),
  error: (f, m) => void ((counts.error += 1), lastError.splice(0, 1, `${m} ${JSON.stringify(f)}`)),
};

interface StartArgs {
  server: string;
  fingerprint: string;
  credential: string;
  count: number;
  prefix: string;
  dataRoot: string;
  timeoutMs: number;
}

/** Builds count agents, starts them all at once, resolves when all are registered (or at the timeout). */
async function start(
  a: Record<string, unknown>,
): Promise<{ ids: string[]; ms: number; retries: number; failed: number; lastError?: string }> {
  const o = a as unknown as StartArgs;
  const [credentialId, password] = [
    o.credential.slice(0, o.credential.indexOf(':')),
    o.credential.slice(o.credential.indexOf(':') + 1),
  ];
  const fresh: ServerConnection[] = [];
  const ids: string[] = [];
  for (let i = 0; i < o.count; i++) {
    const id = `${o.prefix}-${String(agents.length + i).padStart(4, '0')}`;
    const dataDir = join(o.dataRoot, id);
    await mkdir(dataDir, { recursive: true });
    const config = benchAgentConfig(id, dataDir, {
      server: o.server,
      fingerprint: o.fingerprint,
      credentialId,
      password,
    });
    fresh.push(await buildClient(config, logger));
    ids.push(id);
  }
  let retries = 0;
  let connected = 0;
  const t0 = performance.now();
  let last = t0;
  const all = new Promise<void>((resolve) => {
    for (const c of fresh) {
      c.on('failure', () => (retries += 1));
      c.once('connected', () => {
        last = performance.now();
        connected += 1;
        if (connected % 100 === 0) emit('progress', { connected, count: o.count, retries });
        if (connected === fresh.length) resolve();
      });
    }
  });
  for (const c of fresh) c.start();
  agents.push(...fresh);
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([all, new Promise((r) => (timer = setTimeout(r, o.timeoutMs)))]);
  clearTimeout(timer);
  return { ids, ms: last - t0, retries, failed: fresh.length - connected, lastError: lastError[0] };
}

serveRole({
  start,
  stats: () => ({ agents: agents.length, connected: agents.filter((c) => c.connected).length, ...counts }),
  stop: async () => {
    await Promise.all(agents.splice(0).map((c) => c.stop()));
  },
});
