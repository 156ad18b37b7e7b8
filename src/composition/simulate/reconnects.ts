// The second act of a run with an offline_ttl: the agents that were offline, or dropped during their
// transfer, come back at seeded virtual times (some after their time is over), announce themselves,
// and are served what waits for them.
import type { SimulatedAgent } from './agents.ts';
import type { SeededRandom } from './prng.ts';
import type { SimulatedServer } from './tokens.ts';

/** How often (virtual ms) the run looks whether the queue has drained. */
const LOOK_EVERY_MS = 1000;

/**
 * Brings the agents with queued targets (offline, or dropped during the transfer) back, each at a
 * seeded time from 1 s to twice the TTL after the push began (never at the very instant the TTL
 * ends, where the order of the two would be a coin toss), and drives virtual time until the queue
 * is empty and every agent is idle. Returns each returning agent's time, in seconds after the push.
 */
export async function comeBack(
  agents: SimulatedAgent[],
  server: SimulatedServer,
  random: SeededRandom,
  push: { began: Date; offlineTtl: number },
): Promise<Map<string, number>> {
  const { clock, channels, presence, queue } = server;
  const queued = new Set((await queue.all()).map((t) => t.client_id));
  const away = agents.filter((a) => queued.has(a.plan.id));
  const drawn = (): number => {
    const s = random.int(1, 2 * push.offlineTtl);
    return s === push.offlineTtl ? s + 1 : s;
  };
  const after = new Map(away.map((a) => [a.plan.id, drawn()]));
  const returns = away.map(async (a) => {
    const at = push.began.getTime() + after.get(a.plan.id)! * 1000;
    await clock.sleep(Math.max(0, at - clock.now().getTime()));
    a.heal();
    channels.connect(a.plan.id, a.channel);
    await presence.announce({
      id: a.plan.id,
      name: a.plan.id,
      hostname: `${a.plan.id}.sim`,
      os: 'linux',
      tags: [],
      version: 'sim',
      fileReception: { enabled: true, protected: [] },
    });
  });
  const drained = async (): Promise<void> => {
    await Promise.all(returns);
    while ((await queue.all()).length > 0) await clock.sleep(LOOK_EVERY_MS);
    await Promise.all(agents.map((a) => a.channel.idle()));
  };
  await clock.run(drained());
  return after;
}

/** How many targets waited, and how each wait ended. */
export function queueFigures(
  rows: { cameBackAfter?: number; status: string; message: string }[],
  queued: number,
): { queued: number; served: number; expired: number } {
  const back = rows.filter((r) => r.cameBackAfter !== undefined);
  const expired = back.filter(
    (r) => r.status === 'error' && r.message.includes('did not connect within'),
  ).length;
  return { queued, served: back.length - expired, expired };
}
