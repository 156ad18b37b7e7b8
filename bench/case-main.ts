// One benchmark in its own process: `tsx bench/case-main.ts <name>`, started by bench/run.ts.
import { mkdir, rm } from 'node:fs/promises';
import { Children } from './lib/children.ts';
import type { Figure } from './lib/figures.ts';
import { CASES } from './cases/index.ts';

const name = process.argv[2];
const bench = CASES.find((c) => c.name === name);
if (!bench || !process.send) {
  console.error(`usage: started by bench/run.ts with one of: ${CASES.map((c) => c.name).join(', ')}`);
  process.exit(2);
}

const tmp = process.env.BENCH_TMP!;
const memTmp = process.env.BENCH_MEM_TMP || undefined;
const children = new Children();
const started = performance.now();
const send = (m: Record<string, unknown>): Promise<void> =>
  new Promise((resolve) => process.send!(m, () => resolve()));

process.on('exit', () => children.killAllNow());
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => process.exit(1));

async function main(): Promise<void> {
  await mkdir(tmp, { recursive: true });
  if (memTmp) await mkdir(memTmp, { recursive: true });
  let failed = false;
  try {
    await bench!.run({
      tmp,
      memTmp,
      quick: process.env.BENCH_QUICK === '1',
      children,
      profileDir: process.env.BENCH_PROFILE_DIR || undefined,
      log: (message) =>
        console.log(`[${name} ${((performance.now() - started) / 1000).toFixed(1).padStart(5)}s] ${message}`),
      add: (figure: Figure) => void send({ type: 'figure', figure }),
    });
  } catch (e) {
    failed = true;
    const message = e instanceof Error ? e.message : String(e);
    console.error(`[${name}] FAILED: ${message}`);
    await send({ type: 'error', message });
  } finally {
    await children.killAll();
    await rm(tmp, { recursive: true, force: true });
    if (memTmp) await rm(memTmp, { recursive: true, force: true });
  }
  process.exit(failed ? 1 : 0);
}

void main();
