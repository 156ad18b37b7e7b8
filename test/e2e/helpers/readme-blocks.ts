// The shell blocks of one README section, in order, as the README test runs them.

export interface ShellBlock {
  /** 1-based line of the opening fence in the README. */
  line: number;
  code: string;
  /** Set when `<!-- readme-test: skip: why -->` comes before the block: the reason. */
  skip?: string;
}

const SKIP = /^<!--\s*readme-test:\s*skip:\s*(.+?)\s*-->$/;

/**
 * The ```sh blocks between the `## <heading>` line and the next `## ` heading. A
 * `<!-- readme-test: skip: why -->` line (blank lines may follow it) marks the next block as not run.
 * Throws when the heading is missing or holds no block, so a renamed section cannot pass by running nothing.
 */
export function shellBlocks(markdown: string, heading: string): ShellBlock[] {
  const lines = markdown.split('\n');
  const start = lines.findIndex((l) => l.trim() === `## ${heading}`);
  if (start < 0) throw new Error(`README.md has no "## ${heading}" section`);
  const blocks: ShellBlock[] = [];
  let skip: string | undefined;
  for (let i = start + 1; i < lines.length && !lines[i].startsWith('## '); i++) {
    const line = lines[i].trim();
    const mark = SKIP.exec(line);
    if (mark) {
      skip = mark[1];
      continue;
    }
    if (line.startsWith('```')) {
      const lang = line.slice(3).trim();
      const end = lines.findIndex((l, j) => j > i && l.trim() === '```');
      if (end < 0) throw new Error(`README.md line ${i + 1}: the code block is not closed`);
      if (lang === 'sh') blocks.push({ line: i + 1, code: lines.slice(i + 1, end).join('\n'), skip });
      skip = undefined;
      i = end;
    } else if (line !== '' && skip !== undefined && !line.startsWith('<!--')) {
      throw new Error(`README.md line ${i + 1}: a readme-test mark must come right before a code block`);
    }
  }
  if (blocks.filter((b) => !b.skip).length === 0)
    throw new Error(`README.md "## ${heading}" has no sh block to run`);
  return blocks;
}

/** The line a block's output starts with, on stdout and stderr, in the script of `scriptOf`. */
export const blockMark = (b: ShellBlock): string => `+++ README.md line ${b.line}`;

/** One bash script of the blocks to run, each preceded by its mark on stdout and stderr. */
export function scriptOf(blocks: ShellBlock[]): string {
  return blocks
    .filter((b) => !b.skip)
    .map((b) => `echo '${blockMark(b)}'; echo '${blockMark(b)}' >&2\n${b.code}\n`)
    .join('\n');
}

/** What the block printed on `output` (stdout or stderr of the script), from its mark to the next. */
export function outputOf(output: string, b: ShellBlock): string {
  const from = output.indexOf(`${blockMark(b)}\n`);
  if (from < 0) return '';
  const rest = output.slice(from + blockMark(b).length + 1);
  const next = rest.indexOf('+++ README.md line ');
  return next < 0 ? rest : rest.slice(0, next);
}
