import { parseArgs } from 'node:util';
import { runSimulation, type SimulationReport } from './container.ts';

/** `npm run simulate -- --agents N --seed S`: one push to N simulated agents, faults from the seed. */
function options(): { agents: number; seed: number } {
  const { values } = parseArgs({
    options: { agents: { type: 'string', default: '200' }, seed: { type: 'string', default: '1' } },
  });
  const agents = Number(values.agents);
  const seed = Number(values.seed);
  if (!Number.isInteger(agents) || agents < 1 || agents > 100_000)
    throw new Error(`--agents "${values.agents}" must be a whole number from 1 to 100000`);
  if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff)
    throw new Error(`--seed "${values.seed}" must be a whole number from 0 to 4294967295`);
  return { agents, seed };
}

function print(report: SimulationReport): void {
  const cols: [string, number][] = [
    ['client', 10],
    ['fault', 11],
    ['before', 7],
    ['status', 7],
    ['dest now', 8],
    ['message', 0],
  ];
  const line = (cells: string[]) => cells.map((c, i) => (cols[i][1] ? c.padEnd(cols[i][1]) : c)).join('  ');
  console.log(line(cols.map(([h]) => h)));
  console.log(line(cols.map(([h, w]) => '-'.repeat(w || h.length))));
  for (const r of report.rows) {
    const msg = r.message.length > 110 ? r.message.slice(0, 107) + '...' : r.message;
    console.log(line([r.clientId, r.fault, r.previous, r.status, r.destination, msg]));
  }
  console.log('');
  console.log(`upload ${report.uuid}, seed ${report.seed}, ${report.rows.length} agents`);
  console.log(
    `summary: success ${report.counts.success}, ignored ${report.counts.ignored}, error ${report.counts.error}`,
  );
  const byFault = new Map<string, number>();
  for (const r of report.rows) byFault.set(r.fault, (byFault.get(r.fault) ?? 0) + 1);
  console.log(`faults injected: ${[...byFault].map(([f, n]) => `${f} ${n}`).join(', ')}`);
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
