/** One line of an edit script: kept (' '), removed ('-') or added ('+'); the line keeps its '\n'. */
interface Edit {
  op: ' ' | '-' | '+';
  line: string;
}

/** Lines with their terminators: a last line without '\n' stays distinct from the same text with one. */
const linesOf = (text: string): string[] => text.match(/[^\n]*\n|[^\n]+$/g) ?? [];

/**
 * Past this many differing lines the search stops and the changed middle is shown as removed, then
 * added: a correct diff, only not the shortest. The search keeps about its square in numbers.
 */
const MAX_EDITS = 1000;
const CONTEXT = 3;

/**
 * A unified diff (`diff -u` format) from old to new, line by line, three lines of context; empty
 * when both are the same. A line without a final newline is marked `\ No newline at end of file`.
 */
export function unifiedDiff(oldText: string, newText: string, oldName: string, newName: string): string {
  const edits = editScript(linesOf(oldText), linesOf(newText));
  if (edits.every((e) => e.op === ' ')) return '';
  let out = `--- ${oldName}\n+++ ${newName}\n`;
  for (const hunk of hunksOf(edits)) out += hunk;
  return out;
}

/** Common head and tail first (cheap, and most edits of a config file are small), then Myers on the middle. */
function editScript(a: string[], b: string[]): Edit[] {
  let head = 0;
  while (head < a.length && head < b.length && a[head] === b[head]) head++;
  let tail = 0;
  while (
    tail < a.length - head &&
    tail < b.length - head &&
    a[a.length - 1 - tail] === b[b.length - 1 - tail]
  )
    tail++;
  const midA = a.slice(head, a.length - tail);
  const midB = b.slice(head, b.length - tail);
  const middle = myers(midA, midB, MAX_EDITS) ?? [
    ...midA.map((line) => ({ op: '-' as const, line })),
    ...midB.map((line) => ({ op: '+' as const, line })),
  ];
  const kept = (lines: string[]): Edit[] => lines.map((line) => ({ op: ' ', line }));
  return [...kept(a.slice(0, head)), ...middle, ...kept(a.slice(a.length - tail))];
}

/**
 * Myers' shortest edit script (1986): for each number of edits d, the furthest reach on every
 * diagonal k. The reach before each round is kept (only diagonals -d-1..d+1) to walk back from the
 * end. Undefined when more than maxEdits edits are needed.
 */
function myers(a: string[], b: string[], maxEdits: number): Edit[] | undefined {
  const n = a.length;
  const m = b.length;
  const max = Math.min(n + m, maxEdits);
  const off = max + 1;
  const v = new Int32Array(2 * max + 3);
  const trace: Int32Array[] = [];
  for (let d = 0; d <= max; d++) {
    trace.push(v.slice(off - d - 1, off + d + 2));
    for (let k = -d; k <= d; k += 2) {
      let x = k === -d || (k !== d && v[off + k - 1] < v[off + k + 1]) ? v[off + k + 1] : v[off + k - 1] + 1;
      let y = x - k;
      while (x < n && y < m && a[x] === b[y]) {
        x++;
        y++;
      }
      v[off + k] = x;
      if (x >= n && y >= m) return walkBack(trace, a, b);
    }
  }
  return undefined;
}

function walkBack(trace: Int32Array[], a: string[], b: string[]): Edit[] {
  const edits: Edit[] = [];
  let x = a.length;
  let y = b.length;
  for (let d = trace.length - 1; d >= 0; d--) {
    const v = trace[d];
    const at = (k: number): number => v[k + d + 1];
    const k = x - y;
    const prevK = k === -d || (k !== d && at(k - 1) < at(k + 1)) ? k + 1 : k - 1;
    const prevX = d === 0 ? 0 : at(prevK);
    const prevY = d === 0 ? 0 : prevX - prevK;
    while (x > prevX && y > prevY) {
      x--;
      y--;
      edits.push({ op: ' ', line: a[x] });
    }
    if (d > 0) edits.push(x === prevX ? { op: '+', line: b[--y] } : { op: '-', line: a[--x] });
  }
  return edits.reverse();
}

/** Groups the edits into hunks with CONTEXT lines around each change; nearby changes share a hunk. */
function hunksOf(edits: Edit[]): string[] {
  const changed = edits.flatMap((e, i) => (e.op === ' ' ? [] : [i]));
  const hunks: string[] = [];
  let first = 0;
  while (first < changed.length) {
    let last = first;
    while (last + 1 < changed.length && changed[last + 1] - changed[last] <= 2 * CONTEXT) last++;
    const from = Math.max(0, changed[first] - CONTEXT);
    const to = Math.min(edits.length, changed[last] + CONTEXT + 1);
    hunks.push(hunk(edits, from, to));
    first = last + 1;
  }
  return hunks;
}

function hunk(edits: Edit[], from: number, to: number): string {
  let oldLine = 0;
  let newLine = 0;
  for (const e of edits.slice(0, from)) {
    if (e.op !== '+') oldLine++;
    if (e.op !== '-') newLine++;
  }
  const body = edits.slice(from, to);
  const oldCount = body.filter((e) => e.op !== '+').length;
  const newCount = body.filter((e) => e.op !== '-').length;
  // diff -u names the line before an empty range, so an empty file's range is 0,0.
  const start = (line: number, count: number): number => (count === 0 ? line : line + 1);
  let out = `@@ -${start(oldLine, oldCount)},${oldCount} +${start(newLine, newCount)},${newCount} @@\n`;
  for (const e of body)
    out += e.line.endsWith('\n') ? e.op + e.line : `${e.op}${e.line}\n\\ No newline at end of file\n`;
  return out;
}
