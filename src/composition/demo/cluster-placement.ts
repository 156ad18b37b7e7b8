/**
 * Where each agent of a cluster is connected, read from the shared clients table: the demo and
 * `npm run bench -- cluster` wait on it after starting agents and after killing a node.
 */
import type pg from 'pg';

/**
 * The node each agent is connected to, per the clients table, once every agent satisfies where()
 * (or as it is when ms pass). onChange sees each agent that moved to a node where() accepts; log
 * gets a line each time the count of accepted agents changes.
 */
export async function waitForPlacement(
  pool: pg.Pool,
  ids: string[],
  where: (id: string, node: string) => boolean,
  ms: number,
  onChange: (id: string, node: string) => void = () => undefined,
  log: (line: string) => void = console.log,
): Promise<Map<string, string>> {
  const deadline = Date.now() + ms;
  const seen = new Map<string, string>();
  let shown = -1;
  for (;;) {
    const { rows } = await pool.query<{ id: string; node_id: string | null }>(
      'SELECT id, node_id FROM clients WHERE connected AND id = ANY($1)',
      [ids],
    );
    const at = new Map(rows.filter((r) => r.node_id !== null).map((r) => [r.id, r.node_id!]));
    for (const [id, n] of at) if (seen.get(id) !== n && where(id, n)) onChange(id, n);
    for (const [id, n] of at) seen.set(id, n);
    const good = [...at].filter(([id, n]) => where(id, n));
    if (good.length !== shown) log(`connected: ${good.length}/${ids.length}`);
    shown = good.length;
    if (good.length === ids.length || Date.now() > deadline) return new Map(good);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** The agents of each node, nodes and agents sorted. */
export function byNode(placement: Map<string, string>): Map<string, string[]> {
  const nodes = new Map<string, string[]>();
  for (const [id, n] of [...placement].sort()) nodes.set(n, [...(nodes.get(n) ?? []), id]);
  return new Map([...nodes].sort());
}
