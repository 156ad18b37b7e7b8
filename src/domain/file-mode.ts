/** RPort's default mode for a received file. */
export const DEFAULT_FILE_MODE = 0o764;
/** Mode for parent directories created on the way to a destination (never the file's mode). */
export const DEFAULT_DIR_MODE = 0o755;

/** Parses an octal mode string such as "0644", "644" or "4755". Returns undefined for an empty value. */
export function parseMode(text: string | undefined): { mode?: number; problem?: string } {
  if (text === undefined || text.trim() === '') return {};
  const t = text.trim();
  if (!/^0?[0-7]{1,4}$/.test(t)) {
    return { problem: `mode "${text}" is not an octal file mode between 0 and 7777 (for example 0644)` };
  }
  return { mode: parseInt(t, 8) };
}

export const formatMode = (mode: number): string => '0' + (mode & 0o7777).toString(8).padStart(3, '0');

/** setuid, setgid and sticky: refused unless the host (or the server) allows them. */
export const SPECIAL_MODE_BITS = 0o7000;

/** The special bits a mode sets, in words ("setuid and sticky"); empty when it sets none. */
export function specialBitsIn(mode: number): string {
  const names = [
    [0o4000, 'setuid'],
    [0o2000, 'setgid'],
    [0o1000, 'sticky'],
  ] as const;
  const set = names.filter(([bit]) => (mode & bit) !== 0).map(([, name]) => name);
  return set.length <= 1 ? (set[0] ?? '') : `${set.slice(0, -1).join(', ')} and ${set[set.length - 1]}`;
}
