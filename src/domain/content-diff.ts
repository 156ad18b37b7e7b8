import type { LocalFiles } from '../ports/local-files.ts';
import { isPermissionDenied, messageOf } from './errors.ts';
import { unifiedDiff } from './line-diff.ts';
import type { PushVerdict } from './outcome.ts';

/** `[file-reception] diff` and `max_diff_size` in rport.conf. */
export interface DiffSettings {
  /** false: the agent never sends a file's content back, whatever a push asks. */
  enabled: boolean;
  /** Neither the old nor the new file is diffed above this many bytes. */
  maxSize: number;
}

export const DEFAULT_DIFF_SETTINGS: DiffSettings = { enabled: true, maxSize: 64 * 1024 };

/**
 * The most a diff may take in the result line, as JSON-encoded UTF-8. The control channel closes on
 * a line over 64 KiB, and the message and the other fields share that line.
 */
export const MAX_DIFF_BYTES = 40 * 1024;

export const DIFF_DISABLED =
  'no diff: diff is disabled on this host ([file-reception] diff = false in rport.conf)';

const encoder = new TextEncoder();
const jsonBytes = (s: string): number => encoder.encode(JSON.stringify(s)).byteLength - 2;

/** Text: valid UTF-8 without a NUL byte (what `diff` and git also take for binary). */
function textOf(bytes: Uint8Array): string | undefined {
  try {
    const text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    return text.includes('\0') ? undefined : text;
  } catch {
    return undefined;
  }
}

/**
 * Agent: the diff a push asked for, of the file it replaces against the verified temp file. Reads at
 * most max_diff_size + 1 bytes of each, and returns the diff or one line saying why there is none.
 */
export class ContentDiff {
  constructor(
    private readonly files: LocalFiles,
    private readonly settings: DiffSettings,
  ) {}

  get enabled(): boolean {
    return this.settings.enabled;
  }

  /** old: where the replaced file really is, undefined when there is none; temp: the verified new file. */
  async between(dest: string, old: string | undefined, temp: string, newSize: number): Promise<string> {
    if (!this.settings.enabled) return DIFF_DISABLED;
    if (old === undefined) return `no diff: there is no old file at ${dest}`;
    const max = this.settings.maxSize;
    if (newSize > max)
      return `no diff: the new file is ${newSize} bytes, over [file-reception] max_diff_size (${max} bytes)`;
    const before = await this.text(old, dest, 'old');
    if (before.problem !== undefined) return before.problem;
    const after = await this.text(temp, dest, 'new');
    if (after.problem !== undefined) return after.problem;
    const diff = unifiedDiff(before.text, after.text, dest, `${dest} (pushed)`);
    return diff === '' ? 'no diff: the content is the same' : capped(diff);
  }

  /**
   * The diff line of a verdict that came without one: why none was made. Under sync, `ignored` means
   * the file was already in sync; without it, that the file exists and was left alone.
   */
  reasonFor(v: PushVerdict, sync: boolean): string {
    if (!this.settings.enabled) return DIFF_DISABLED;
    if (v.status === 'error') return 'no diff: the push was refused or failed';
    if (v.status === 'ignored' && !sync) return 'no diff: the file is left as it is';
    return 'no diff: the content is the same';
  }

  private async text(
    path: string,
    dest: string,
    which: 'old' | 'new',
  ): Promise<{ text: string; problem?: undefined } | { problem: string }> {
    const max = this.settings.maxSize;
    let bytes: Uint8Array | undefined;
    try {
      bytes = await this.files.readUpTo(path, max);
    } catch (e) {
      if (isPermissionDenied(e)) return { problem: `no diff: the agent may not read the old file ${dest}` };
      return { problem: `no diff: reading the ${which} file failed: ${messageOf(e)}` };
    }
    if (bytes === undefined)
      return { problem: `no diff: the ${which} file is over [file-reception] max_diff_size (${max} bytes)` };
    const text = textOf(bytes);
    return text === undefined ? { problem: `no diff: the ${which} file is binary` } : { text };
  }
}

/** The diff cut at whole lines to MAX_DIFF_BYTES, with a last line saying how much was left out. */
function capped(diff: string): string {
  if (jsonBytes(diff) <= MAX_DIFF_BYTES) return diff;
  const lines = diff.split(/(?<=\n)/);
  const room = MAX_DIFF_BYTES - 200;
  let used = 0;
  let kept = 0;
  while (kept < lines.length && used + jsonBytes(lines[kept]) <= room) used += jsonBytes(lines[kept++]);
  return `${lines.slice(0, kept).join('')}… diff truncated: ${lines.length - kept} of its ${lines.length} lines left out (the result line is limited to 64 KiB)\n`;
}
