import { parseArgs } from 'node:util';
import { runSimulation, type SimulationReport } from './container.ts';

/**
 * `npm run simulate -- --agents N --seed S [--offline-ttl SECONDS]`: one push to N simulated agents,
 * faults from the seed. With an offline_ttl (600 by default; 0 for a single round), the offline and
 * dropped agents come back later and are served from the queue.
 */
function options(): { agents: number; seed: number; offlineTtl: number } {
  const { values } = parseArgs({
    options: {
      agents: { type: 'string', default: '200' },
      seed: { type: 'string', default: '1' },
      'offline-ttl': { type: 'string', default: '600' },
    },
  });
  const offlineTtl = Number(values['offline-ttl']);
  if (!Number.isInteger(offlineTtl) || offlineTtl < 0 || offlineTtl > 30 * 86_400)
    throw new Error(
      `--offline-ttl "${values['offline-ttl']}" must be a whole number of seconds from 0 to 2592000`,
    );
  const agents = Number(values.agents);
  const seed = Number(values.seed);
  if (!Number.isInteger(agents) || agents < 1 || agents > 100_000)
    throw new Error(`--agents "${values.agents}" must be a whole number from 1 to 100000`);
  if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff)
    throw new Error(`--seed "${values.seed}" must be a whole number from 0 to 4294967295`);
  return { agents, seed, offlineTtl };
}

function print(report: SimulationReport): void {
  const cols: [string, number][] = [
    ['client', 10],
    ['fault', 11],
    ['before', 7],
    ['status', 7],
    ['back', 6],
    ['dest now', 8],
    ['message', 0],
  ];
  const line = (cells: string[]) => cells.map((c, i) => (cols[i][1] ? c.padEnd(cols[i][1]) : c)).join('  ');
  console.log(line(cols.map(([h]) => h)));
  console.log(line(cols.map(([h, w]) => '-'.repeat(w || h.length))));
  for (const r of report.rows) {
    const msg = r.message.length > 110 ? r.message.slice(0, 107) + '...' : r.message;
    const back = r.cameBackAfter === undefined ? '' : `+${r.cameBackAfter}s`;
    console.log(line([r.clientId, r.fault, r.previous, r.status, back, r.destination, msg]));
  }
  console.log('');
  console.log(`upload ${report.uuid}, seed ${report.seed}, ${report.rows.length} agents`);
  console.log(
    `summary: success ${report.counts.success}, ignored ${report.counts.ignored}, error ${report.counts.error}`,
  );
  const byFault = new Map<string, number>();
  for (const r of report.rows) byFault.set(r.fault, (byFault.get(r.fault) ?? 0) + 1);
  console.log(`faults injected: ${[...byFault].map(([f, n]) => `${f} ${n}`).join(', ')}`);
  if (report.queue.queued > 0)
    console.log(
      `offline queue: ${report.queue.queued} targets queued (offline or dropped); ${report.queue.served} served after their agent reconnected, ${report.queue.expired} ended when offline_ttl was over`,
    );
  console.log(
    `staged files left on the server: ${report.stagedLeft}; live transfer grants left: ${report.liveTransfersLeft}`,
  );
  if (report.violations.length === 0)
    console.log(
      'invariants: every agent has exactly one outcome, no destination half-written, no temp or staged file left',
    );
  else for (const v of report.violations) console.log(`VIOLATION ${v}`);
}

try {
  const report = await runSimulation(options());
  print(report);
  process.exitCode = report.violations.length === 0 ? 0 : 1;
} catch (e) {
  console.error(`simulate: ${e instanceof Error ? e.message : String(e)}`);
  process.exitCode = 2;
}
