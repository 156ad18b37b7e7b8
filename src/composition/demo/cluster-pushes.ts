/**
 * The cluster demo's pushes: one upload through HAProxy's API address, its outcomes read from the
 * shared database (with the node that recorded each and the node holding its client), and the
 * bytes checked in each agent's home.
 */
import { readFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import type pg from 'pg';
import type { DemoAgent } from './cluster-setup.ts';

export interface Outcome {
  clientId: string;
  status: string;
  message: string;
  /** upload_results.pushed_by: the node that recorded this target's outcome, the one that pushed it. */
  pushedBy: string | null;
  /** clients.node_id: the node holding the client's connection now. */
  clientNode: string | null;
}

/** POST /api/v1/files with every id as a target; resolves with the upload's uuid. */
export async function pushThrough(
  api: string,
  token: string,
  ids: string[],
  dest: string,
  content: Buffer,
): Promise<string> {
  const form = new FormData();
  for (const id of ids) form.append('client_id', id);
  form.append('dest', dest);
  form.append('force', 'true');
  form.append('mode', '0644');
  form.append('upload', new Blob([new Uint8Array(content)]), basename(dest));
  const res = await fetch(`${api}/api/v1/files`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}` },
    body: form,
  });
  const body = (await res.json()) as { data?: { uuid: string } };
  if (!res.ok || !body.data) throw new Error(`the upload was refused: ${res.status} ${JSON.stringify(body)}`);
  console.log(`accepted: uuid ${body.data.uuid}`);
  return body.data.uuid;
}

/** The upload's outcomes once all `count` targets have a final one, or as they are when ms pass. */
export async function readOutcomes(
  pool: pg.Pool,
  uuid: string,
  count: number,
  ms: number,
): Promise<Outcome[]> {
  const deadline = Date.now() + ms;
  for (;;) {
    const { rows } = await pool.query<{
      client_id: string;
      status: string;
      message: string;
      pushed_by: string | null;
      client_node: string | null;
    }>(
      `SELECT r.client_id, r.status, r.message, r.pushed_by, c.node_id AS client_node
         FROM upload_results r LEFT JOIN clients c ON c.id = r.client_id
        WHERE r.uuid = $1 ORDER BY r.client_id`,
      [uuid],
    );
    const done = rows.length === count && rows.every((r) => r.status !== 'pending');
    if (done || Date.now() > deadline)
      return rows.map((r) => ({
        clientId: r.client_id,
        status: r.status,
        message: r.message,
        pushedBy: r.pushed_by,
        clientNode: r.client_node,
      }));
    await new Promise((r) => setTimeout(r, 250));
  }
}

export function showOutcomes(uuid: string, outcomes: Outcome[]): void {
  console.log(`outcomes of ${uuid}:`);
  for (const o of outcomes) {
    const why = o.status === 'success' ? '' : `: ${o.message}`;
    console.log(
      `  ${o.clientId.padEnd(18)} ${o.status.padEnd(8)} pushed by ${o.pushedBy ?? '?'} (client on ${o.clientNode ?? '?'})${why}`,
    );
  }
}

/** How many of the succeeded targets' agents hold exactly content under name in their home. */
export async function placedOn(
  agents: DemoAgent[],
  succeeded: Outcome[],
  name: string,
  content: Buffer,
): Promise<number> {
  let placed = 0;
  for (const o of succeeded) {
    const agent = agents.find((a) => a.id === o.clientId);
    const bytes = agent && (await readFile(join(agent.home, name)).catch(() => undefined));
    if (bytes?.equals(content)) placed += 1;
  }
  return placed;
}
