import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { NatsConnection } from '@nats-io/transport-node';
import { NatsLink } from '../../../src/adapters/nats/nats-link.ts';
import { NatsStagedFiles } from '../../../src/adapters/nats/nats-staged-files.ts';
import type { NatsServerProcess } from '../../support/nats-server.ts';

/** Short enough that an outage test waits little, long enough for a busy two-core machine. */
export const REQUEST_TIMEOUT_MS = 1_500;

/** Resolves at the connection's next reconnect (listen before restarting the server). */
export async function reconnected(connection: NatsConnection): Promise<void> {
  for await (const s of connection.status()) if (s.type === 'reconnect') return;
}

/** One node of a test cluster: its link to the shared server, its staging folder and its adapter. */
export interface TestNode {
  link: NatsLink;
  dir: string;
  files: NatsStagedFiles;
}

/** A node with a fresh staging folder, on a bucket of its own test's (so tests never see each other's objects). */
export async function openNode(server: NatsServerProcess, bucket: string): Promise<TestNode> {
  const dir = await mkdtemp(join(tmpdir(), 'rportd-node-'));
  const link = await NatsLink.open({ url: server.url, bucket, requestTimeoutMs: REQUEST_TIMEOUT_MS });
  return { link, dir, files: new NatsStagedFiles(link, dir) };
}

export async function closeNode(node: TestNode): Promise<void> {
  await node.link.close();
  await rm(node.dir, { recursive: true, force: true });
}

export async function readLocal(node: TestNode, uuid: string): Promise<Buffer | undefined> {
  try {
    return await readFile(join(node.dir, `${uuid}_rport_filepush`));
  } catch {
    return undefined;
  }
}

export const namesIn = (node: TestNode): Promise<string[]> => readdir(node.dir);
