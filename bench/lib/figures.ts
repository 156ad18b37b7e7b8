import { MB } from './proc-memory.ts';

/** One line of the results table. */
export interface Figure {
  figure: string;
  ours?: string;
  reference?: string;
  /** Ours against the reference, in the direction of its target (see docs/benchmarks.md). */
  ratio?: number;
  /** The goal, e.g. ">= 0.9x" or "<= 256 MB". */
  target?: string;
  met?: boolean;
  note?: string;
}

export const seconds = (ms: number | undefined): string | undefined =>
  ms === undefined ? undefined : `${(ms / 1000).toFixed(2)} s`;
export const megabytes = (bytes: number | undefined): string | undefined =>
  bytes === undefined ? undefined : `${(bytes / MB).toFixed(0)} MB`;
export const rate = (perSecond: number | undefined, unit: string): string | undefined =>
  perSecond === undefined ? undefined : `${perSecond.toFixed(perSecond < 10 ? 2 : 0)} ${unit}`;
export const throughput = (bytes: number, ms: number | undefined): string | undefined =>
  ms === undefined ? undefined : `${(bytes / MB / (ms / 1000)).toFixed(0)} MB/s`;

/** Reference time / our time: above 1 means we are faster. */
export function speedRatio(oursMs: number | undefined, referenceMs: number | undefined): number | undefined {
  return oursMs && referenceMs ? referenceMs / oursMs : undefined;
}

export function median(values: number[]): number | undefined {
  if (values.length === 0) return undefined;
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

const COLUMNS = ['figure', 'ours', 'reference', 'ratio', 'target', 'met'] as const;

function cells(f: Figure): string[] {
  const met = f.met === undefined ? '' : f.met ? 'yes' : 'NO';
  return [
    f.figure,
    f.ours ?? 'n/a',
    f.reference ?? '',
    f.ratio === undefined ? '' : `${f.ratio.toFixed(2)}x`,
    f.target ?? '',
    met,
  ];
}

/** The table for the terminal, aligned. */
export function textTable(figures: Figure[]): string {
  const rows = [[...COLUMNS] as string[], ...figures.map(cells)];
  const widths = COLUMNS.map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  const line = (r: string[]): string => r.map((c, i) => c.padEnd(widths[i])).join(' | ');
  return [line(rows[0]), widths.map((w) => '-'.repeat(w)).join('-|-'), ...rows.slice(1).map(line)].join('\n');
}

/** The same table in Markdown, with notes as footnotes below it. */
export function markdownTable(figures: Figure[]): string {
  const esc = (s: string): string => s.replace(/\|/g, '\\|');
  const notes: string[] = [];
  const body = figures.map((f) => {
    const c = cells(f).map(esc);
    if (f.note) {
      notes.push(f.note);
      c[0] = `${c[0]} [${notes.length}]`;
    }
    return `| ${c.join(' | ')} |`;
  });
  const head = `| ${COLUMNS.join(' | ')} |\n| ${COLUMNS.map(() => '---').join(' | ')} |`;
  return (
    [head, ...body].join('\n') +
    (notes.length ? '\n\n' + notes.map((n, i) => `[${i + 1}] ${n}`).join('\n') : '')
  );
}
