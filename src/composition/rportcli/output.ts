/** Where the CLI writes; a test passes its own streams and environment. */
export interface CliIo {
  stdout: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  stderr: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  stdin: NodeJS.ReadableStream & { isTTY?: boolean };
  env: Record<string, string | undefined>;
}

/** Plain text columns, padded to the widest cell; the last column is never padded. */
export function formatTable(header: string[], rows: string[][], maxWidth?: number): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]): string => {
    const text = cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i])))
      .join('  ')
      .trimEnd();
    return maxWidth && text.length > maxWidth ? `${text.slice(0, Math.max(0, maxWidth - 1))}…` : text;
  };
  return [line(header), ...rows.map(line)];
}

export const printJson = (io: CliIo, value: unknown): void => {
  io.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
};

export const printLines = (io: CliIo, lines: string[]): void => {
  io.stdout.write(lines.map((l) => `${l}\n`).join(''));
};
