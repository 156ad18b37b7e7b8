import type { TargetOutcome } from '../../adapters/rportcli-api/api-types.ts';
import { EXIT_OK, EXIT_PENDING, EXIT_TARGET_FAILED } from './errors.ts';
import { formatTable, type CliIo } from './output.ts';

/** A target's row: the server's statuses, plus `timeout` for a target that never answered in time. */
export interface TargetRow extends Omit<TargetOutcome, 'status'> {
  status: TargetOutcome['status'] | 'timeout';
}

const isFinal = (r: TargetRow): boolean => r.status !== 'pending';
const isFailure = (r: TargetRow): boolean => r.status === 'error' || r.status === 'timeout';

/** What a target's push did to its host, as Ansible tells changed from ok: the RESULT column. */
export type Effect = 'changed' | 'unchanged' | 'skipped' | 'failed' | 'pending';
const EFFECTS: readonly Effect[] = ['changed', 'unchanged', 'skipped', 'failed', 'pending'];

/**
 * A target's effect. `ignored` under sync means the file was already in sync (unchanged); without
 * sync it means the file exists and was left alone (skipped). A server that does not send
 * `changed` placed the file on every success.
 */
export function effectOf(r: TargetRow, sync: boolean): Effect {
  if (r.status === 'pending') return 'pending';
  if (isFailure(r)) return 'failed';
  if (r.status === 'ignored') return sync ? 'unchanged' : 'skipped';
  return r.changed === false ? 'unchanged' : 'changed';
}

/**
 * The exit code for a set of outcomes: a failure (or, with failOnIgnored, a skipped push) is final
 * and wins over targets still pending, so a script polling for 3 stops as soon as the result is known.
 * A sync that found the file already in sync is not skipped: nothing needed to ship.
 */
export function exitCodeOf(rows: TargetRow[], failOnIgnored: boolean, sync = false): number {
  if (rows.some(isFailure)) return EXIT_TARGET_FAILED;
  if (failOnIgnored && rows.some((r) => effectOf(r, sync) === 'skipped')) return EXIT_TARGET_FAILED;
  if (rows.some((r) => r.status === 'pending')) return EXIT_PENDING;
  return EXIT_OK;
}

/**
 * One line: how many targets ended how, by status and by effect, e.g.
 * "3 targets: 2 success, 1 ignored; 1 changed, 1 unchanged, 1 skipped, 0 failed".
 */
export function summary(rows: TargetRow[], sync = false): string {
  const count = (s: TargetRow['status']): number => rows.filter((r) => r.status === s).length;
  const parts = (['success', 'ignored', 'error', 'timeout'] as const)
    .filter((s) => count(s) > 0)
    .map((s) => `${count(s)} ${s}`);
  const effects = EFFECTS.map((e) => [e, rows.filter((r) => effectOf(r, sync) === e).length] as const)
    .filter(([e, n]) => e !== 'pending' || n > 0)
    .map(([e, n]) => `${n} ${e}`);
  return `${rows.length} target${rows.length === 1 ? '' : 's'}: ${parts.join(', ') || 'none answered'}; ${effects.join(', ')}`;
}

/** A target's diff, indented under its row; none when the upload asked for none. */
export function diffLines(diff: string | undefined, maxWidth?: number): string[] {
  if (diff === undefined || diff === '') return [];
  return diff
    .replace(/\n$/, '')
    .split('\n')
    .map((l) => {
      const line = `    ${l}`;
      return maxWidth && line.length > maxWidth ? `${line.slice(0, Math.max(0, maxWidth - 1))}…` : line;
    });
}

/** A table's lines with each row's diff under it (formatTable's lines: the header, then one per row). */
export function withDiffs(lines: string[], rows: { diff?: string }[], maxWidth?: number): string[] {
  return [lines[0], ...rows.flatMap((r, i) => [lines[i + 1], ...diffLines(r.diff, maxWidth)])];
}

/**
 * Per-client outcomes as they arrive. On a terminal it redraws the whole table in place; otherwise
 * it prints one line per final outcome (a log a script or CI can read); in JSON mode it is silent.
 */
export class ResultsTable {
  private readonly rows = new Map<string, TargetRow>();
  private drawnLines = 0;

  constructor(
    private readonly io: CliIo,
    private readonly mode: 'live' | 'lines' | 'silent',
    /** Whether the upload asked for sync: tells an in-sync target from a skipped one. */
    private readonly sync = false,
  ) {}

  /** Silent for --json, redrawn on a terminal, one line per outcome on a pipe. */
  static for(io: CliIo, json: boolean, sync = false): ResultsTable {
    return new ResultsTable(io, json ? 'silent' : io.stdout.isTTY ? 'live' : 'lines', sync);
  }

  /** Adds targets still pending; a known target keeps its row. */
  expect(clientIds: string[]): void {
    for (const id of clientIds) {
      if (!this.rows.has(id))
        this.rows.set(id, { client_id: id, status: 'pending', message: '', filepath: '', size: 0 });
    }
    this.draw();
  }

  /** Records an outcome; the first final outcome of a target is kept, as the server does. */
  update(o: TargetRow): void {
    const known = this.rows.get(o.client_id);
    if (known && isFinal(known)) return;
    this.rows.set(o.client_id, { ...o });
    if (this.mode === 'lines' && isFinal(o))
      this.io.stdout.write(
        [`${o.client_id}  ${o.status}  ${effectOf(o, this.sync)}  ${o.message}`, ...diffLines(o.diff)]
          .map((l) => `${l}\n`)
          .join(''),
      );
    this.draw();
  }

  /** Records the final outcomes among stored results; their pending targets add nothing. */
  updateFinal(stored: TargetRow[]): void {
    for (const t of stored) if (isFinal(t)) this.update(t);
  }

  /** Marks every target still pending as timed out. */
  timeOut(seconds: number): void {
    for (const r of this.rows.values()) {
      if (!isFinal(r)) this.update({ ...r, status: 'timeout', message: `no answer within ${seconds}s` });
    }
  }

  get all(): TargetRow[] {
    return [...this.rows.values()];
  }

  get settled(): boolean {
    return this.rows.size > 0 && this.all.every(isFinal);
  }

  /**
   * The last drawing, with each target's diff under its row. While outcomes arrive the diffs stay
   * out: a table redrawn in place must fit on the screen.
   */
  finish(): void {
    this.draw(true);
  }

  private draw(diffs = false): void {
    if (this.mode !== 'live') return;
    const width = this.io.stdout.columns ? this.io.stdout.columns - 1 : undefined;
    const rows = this.all;
    const table = formatTable(
      ['CLIENT', 'STATUS', 'RESULT', 'MESSAGE'],
      rows.map((r) => [r.client_id, r.status, effectOf(r, this.sync), r.message]),
      width,
    );
    const lines = diffs ? withDiffs(table, rows, width) : table;
    // Move up over the previous drawing and clear it; lines are cut to the width so none wraps.
    const up = this.drawnLines > 0 ? `\x1b[${this.drawnLines}A\x1b[J` : '';
    this.io.stdout.write(`${up}${lines.join('\n')}\n`);
    this.drawnLines = lines.length;
  }
}
