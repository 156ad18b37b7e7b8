// `npm run bench [-- <name>...] [--quick] [--write] [--profile] [--list]`: see docs/benchmarks.md.
import { fork, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureBuilt } from './lib/build.ts';
import { killGroup } from './lib/children.ts';
import { mountMemoryRoot, unmount } from './lib/memory-root.ts';
import { markdownTable, textTable, type Figure } from './lib/figures.ts';
import { describeMachine, machineMarkdown } from './lib/machine.ts';
import { CASES } from './cases/index.ts';

const DOCS = new URL('../docs/benchmarks.md', import.meta.url);
const BEGIN = '<!-- bench:begin (written by npm run bench) -->';
const END = '<!-- bench:end -->';
const QUICK_TIMEOUT_MS = 90_000;

const args = process.argv.slice(2);
const flags = new Set(args.filter((a) => a.startsWith('--')));
const names = args.filter((a) => !a.startsWith('--'));
const unknownFlag = [...flags].find(
  (f) => !['--quick', '--write', '--no-write', '--profile', '--list'].includes(f),
);
const unknownName = names.find((n) => !CASES.some((c) => c.name === n));
if (flags.has('--list') || unknownFlag || unknownName) {
  if (unknownFlag) console.error(`unknown flag ${unknownFlag}`);
  if (unknownName) console.error(`unknown benchmark "${unknownName}"`);
  console.error(
    'usage: npm run bench [-- <name>...] [--quick] [--write|--no-write] [--profile]\n\nbenchmarks:',
  );
  for (const c of CASES) console.error(`  ${c.name.padEnd(10)} ${c.summary}`);
  process.exit(flags.has('--list') ? 0 : 2);
}

const quick = flags.has('--quick');
const selected = names.length ? CASES.filter((c) => names.includes(c.name)) : CASES;
// Only a full run replaces the published figures, unless asked otherwise.
const write =
  flags.has('--write') || (!flags.has('--no-write') && !quick && selected.length === CASES.length);
const root = mkdtempSync(join(tmpdir(), 'rport-bench-'));
const memRoot = mountMemoryRoot(root);
// Kept after the run (outside the temp root), for `node --cpu-prof` analysis.
const profileDir = flags.has('--profile') ? join(tmpdir(), `rport-bench-profiles-${Date.now()}`) : '';
const live = new Set<number>();
let current: ChildProcess | undefined;

function cleanUp(): void {
  if (current?.pid) killGroup(current.pid, 'SIGKILL');
  for (const pid of live) killGroup(pid, 'SIGKILL');
  if (memRoot) unmount(memRoot);
  rmSync(root, { recursive: true, force: true });
}

process.on('exit', cleanUp);
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    console.error(`\n${signal}: stopping every benchmark process`);
    process.exit(130);
  });
}

/** Runs one benchmark in its own process; resolves with its figures, whatever happens. */
function runCase(name: string, timeoutMs: number): Promise<Figure[]> {
  const figures: Figure[] = [];
  const child = fork(fileURLToPath(new URL('./case-main.ts', import.meta.url)), [name], {
    execArgv: ['--import', import.meta.resolve('tsx')],
    env: {
      ...process.env,
      BENCH_TMP: join(root, name),
      BENCH_MEM_TMP: memRoot ? join(memRoot, name) : '',
      BENCH_QUICK: quick ? '1' : '0',
      BENCH_PROFILE_DIR: profileDir,
    },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    detached: true,
  });
  current = child;
  const pids = new Set<number>();
  child.on('message', (m: { type: string; pid?: number; figure?: Figure; message?: string }) => {
    if (m.type === 'pid' && m.pid) {
      pids.add(m.pid);
      live.add(m.pid);
    }
    if (m.type === 'figure' && m.figure) figures.push(m.figure);
    if (m.type === 'error') figures.push({ figure: `${name}: failed`, note: m.message?.split('\n')[0] });
  });
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      console.error(`[${name}] exceeded its ${timeoutMs / 1000} s bound; killing it`);
      figures.push({ figure: `${name}: timed out after ${timeoutMs / 1000} s`, met: false });
      killGroup(child.pid!, 'SIGKILL');
    }, timeoutMs);
    child.once('exit', () => {
      clearTimeout(timer);
      // Whatever the benchmark left behind (it kills its own on a normal exit).
      for (const pid of pids) {
        killGroup(pid, 'SIGKILL');
        live.delete(pid);
      }
      current = undefined;
      resolve(figures);
    });
  });
}

async function writeDocs(figures: Figure[], started: Date, totalMs: number): Promise<void> {
  const section = [
    BEGIN,
    `Latest run: ${started.toISOString()}, ${(totalMs / 1000).toFixed(0)} s in all${quick ? ' (--quick sizes)' : ''}; ` +
      `benchmarks: ${selected.map((c) => c.name).join(', ')}. One run on a shared 2-core machine: read the figures as ranges.`,
    '',
    machineMarkdown(describeMachine()),
    '',
    markdownTable(figures),
    END,
  ].join('\n');
  let doc: string;
  try {
    doc = await readFile(DOCS, 'utf8');
  } catch {
    doc = `# Benchmarks\n\n${BEGIN}\n${END}\n`;
  }
  const from = doc.indexOf(BEGIN);
  const to = doc.indexOf(END);
  doc =
    from >= 0 && to > from
      ? doc.slice(0, from) + section + doc.slice(to + END.length)
      : `${doc.trimEnd()}\n\n${section}\n`;
  // Formatted as `npm test`'s prettier --check expects, so a bench run leaves the tree clean.
  const prettier = await import('prettier');
  const options = await prettier.resolveConfig(fileURLToPath(DOCS));
  await writeFile(DOCS, await prettier.format(doc, { ...options, filepath: fileURLToPath(DOCS) }));
  console.log(`\nwrote ${fileURLToPath(DOCS)}`);
}

async function main(): Promise<void> {
  const machine = describeMachine();
  console.log(`rport-ts benchmarks: ${selected.map((c) => c.name).join(', ')}${quick ? ' (quick)' : ''}`);
  console.log(
    `machine: ${machine.cpus}, ${machine.memory}, node ${machine.node}, ssh2 ${machine.ssh2} binding ${machine.ssh2Binding ? 'yes' : 'NO'}, ${machine.openssh}`,
  );
  if (!machine.ssh2Binding)
    console.warn("WARNING: ssh2's native crypto binding is missing: every SSH figure will be 4-5x slower");
  ensureBuilt((m) => console.log(m));
  const started = new Date();
  const all: Figure[] = [];
  for (const c of selected) {
    console.log(`\n== ${c.name}: ${c.summary}`);
    const figures = await runCase(c.name, quick ? Math.min(QUICK_TIMEOUT_MS, c.timeoutMs) : c.timeoutMs);
    all.push(...figures);
    if (figures.length) console.log(`\n${textTable(figures)}`);
  }
  const totalMs = Date.now() - started.getTime();
  console.log(`\n== all figures (${(totalMs / 1000).toFixed(0)} s)\n\n${textTable(all)}`);
  if (write) await writeDocs(all, started, totalMs);
  else console.log('\n(docs/benchmarks.md left as it was: subset or --quick run; pass --write to record it)');
  if (profileDir) console.log(`CPU profiles of rportd and the agents: ${profileDir}`);
  process.exitCode = all.some((f) => f.figure.endsWith(': failed') || f.figure.includes('timed out')) ? 1 : 0;
}

void main();
