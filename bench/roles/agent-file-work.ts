// The agents' own work of a fan-out without the network: N agents' ReceiveFile (built by
// src/composition/rport/container.ts's buildReception, with the real FsLocalFiles) each given the file
// from memory, in READ-sized chunks, with at most `concurrency` at once (rportd's push_concurrency).
// What is left is md5, the temp file's write and fsync, chmod, the checks and the rename with its
// directory fsync: what our agents do in a fan-out and the bare reference does not.
import { createHash } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { MAX_READ } from '../../src/adapters/ssh/protocol.ts';
import { buildReception } from '../../src/composition/rport/container.ts';
import { stagedName } from '../../src/domain/push-request.ts';
import type { ReceiveFile } from '../../src/domain/receive-file.ts';
import { benchAgentConfig } from '../lib/agent-config.ts';
import { serveRole } from '../lib/role.ts';

let agents: ReceiveFile[] = [];
let round = 0;

async function setup(a: Record<string, unknown>): Promise<null> {
  const { n, root } = a as { n: number; root: string };
  agents = [];
  for (let i = 0; i < n; i++) {
    const id = `agent-${String(i).padStart(4, '0')}`;
    const dataDir = join(root, id);
    await mkdir(dataDir, { recursive: true });
    agents.push(await buildReception(benchAgentConfig(id, dataDir), { open: (r) => chunks(r.size) }));
  }
  return null;
}

let content = Buffer.alloc(0);
async function* chunks(size: number): AsyncIterable<Uint8Array> {
  for (let at = 0; at < size; at += MAX_READ) yield content.subarray(at, Math.min(size, at + MAX_READ));
}

async function run(a: Record<string, unknown>): Promise<{ ms: number; failed: number; lastError?: string }> {
  const { size, concurrency, dest } = a as { size: number; concurrency: number; dest: string };
  if (content.length !== size) content = Buffer.alloc(size, 7);
  const md5 = createHash('md5').update(content).digest('hex');
  round += 1;
  let next = 0;
  let failed = 0;
  let lastError: string | undefined;
  const t0 = performance.now();
  const worker = async (): Promise<void> => {
    while (next < agents.length) {
      const i = next++;
      const uuid = `bench-${round}-${i}`;
      const v = await agents[i].execute({
        uuid,
        sourceName: stagedName(uuid),
        destination: dest,
        size,
        md5,
        force: true,
        sync: false,
        ownership: {},
      });
      if (v.status !== 'success') {
        failed += 1;
        lastError = v.message;
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return { ms: performance.now() - t0, failed, lastError };
}

serveRole({ setup, run });
