import fg from 'fast-glob';
import { realpath } from 'node:fs/promises';
import { join } from 'node:path';
import type { PathFlavor } from '../../domain/destination.ts';
import { normalizePattern, type RealRoot } from '../../domain/protected-paths.ts';

interface ExpandOptions {
  /** The directory the patterns are rooted at: "/" on a host, a fake root in tests. POSIX only. */
  root?: string;
  flavor?: PathFlavor;
  /** Matches taken per pattern: a `**` pattern could otherwise walk the whole disk at start. */
  maxMatches?: number;
}

interface Expansion {
  /** Real paths (as escaped patterns) in the order found, without repeats. */
  roots: RealRoot[];
  /** What the agent should log: patterns cut at maxMatches, patterns that could not be expanded. */
  warnings: string[];
}

const MAX_MATCHES_PER_PATTERN = 1000;

/** Characters of the domain's glob syntax; in a real path they are escaped so they match literally. */
const GLOB_CHAR = /[*?[]/;

/**
 * Expands `[file-reception] protected` patterns against the real filesystem: each match (directories
 * and symlinks too, without following links below the pattern's own parts) is resolved to its real
 * path, and so is the pattern's literal directory, which keeps the rest of the pattern after it. On a
 * merged-/usr host `/lib*` then yields `/usr/lib` and `/usr/lib64`, and `/etc/*.conf` with `/etc` a
 * link yields `<real etc>/*.conf`. What does not exist is skipped: the patterns as written still hold.
 */
export async function expandProtectedRoots(
  patterns: readonly string[],
  opts: ExpandOptions = {},
): Promise<Expansion> {
  const flavor = opts.flavor ?? 'posix';
  const root = opts.root ?? '/';
  const max = opts.maxMatches ?? MAX_MATCHES_PER_PATTERN;
  const roots: RealRoot[] = [];
  const warnings: string[] = [];
  const seen = new Set<string>();
  const add = (pattern: string, real: string): void => {
    const key = flavor === 'windows' ? real.toLowerCase() : real;
    if (seen.has(key)) return;
    seen.add(key);
    roots.push({ pattern, real });
  };
  for (const pattern of patterns) {
    try {
      const p = normalizePattern(pattern, flavor);
      // A root equal to the pattern as written adds nothing: the pattern itself refuses it first.
      const addNew = (real: string): void => (real === p ? undefined : add(pattern, real));
      const sep = flavor === 'windows' ? '\\' : '/';
      const onDisk = (path: string): string => (flavor === 'windows' ? path : join(root, path));
      const firstGlob = p.search(GLOB_CHAR);
      if (firstGlob < 0) {
        const real = await realOrUndefined(onDisk(p));
        if (real) addNew(escapeGlob(real));
      } else {
        const dir = p.slice(0, p.lastIndexOf(sep, firstGlob) + 1);
        const real = await realOrUndefined(onDisk(dir));
        if (real) addNew(escapeGlob(real).replace(/[\\/]$/, '') + sep + p.slice(dir.length));
      }
      const { matches, cut } = await globMatches(p, flavor, root, max);
      if (cut)
        warnings.push(`"${pattern}" matches more than ${max} paths; only the first ${max} were resolved`);
      for (const real of await Promise.all(matches.map(realOrUndefined))) if (real) addNew(escapeGlob(real));
    } catch (e) {
      warnings.push(`"${pattern}" could not be expanded: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
  return { roots, warnings };
}

/** The paths on disk that p names, at most max of them (and whether there were more). */
async function globMatches(
  p: string,
  flavor: PathFlavor,
  root: string,
  max: number,
): Promise<{ matches: string[]; cut: boolean }> {
  const source = flavor === 'windows' ? toFastGlob(p.replace(/\\/g, '/')) : toFastGlob(p.replace(/^\/+/, ''));
  if (source === '') return { matches: [], cut: false };
  const matches: string[] = [];
  const stream = fg.stream(source, {
    cwd: root,
    absolute: true,
    onlyFiles: false,
    followSymbolicLinks: false,
    dot: true,
    suppressErrors: true,
    caseSensitiveMatch: flavor === 'posix',
  });
  let cut = false;
  // Leaving the loop early ends the stream and fast-glob's walk with it.
  for await (const entry of stream) {
    if (matches.length === max) {
      cut = true;
      break;
    }
    matches.push(String(entry));
  }
  return { matches, cut };
}

/**
 * The domain's glob in fast-glob's syntax: fast-glob also reads braces, parentheses, `!`, `@`, `+` and
 * backslashes as syntax, where the domain's matcher takes them literally. Classes are kept as they are.
 */
export function toFastGlob(p: string): string {
  let out = '';
  for (let i = 0; i < p.length; i++) {
    const end = p[i] === '[' ? p.indexOf(']', i + 1) : -1;
    if (end > 0) {
      out += p.slice(i, end + 1);
      i = end;
    } else out += /[{}()!@+\\[\]]/.test(p[i]) ? '\\' + p[i] : p[i];
  }
  return out;
}

/** A real path as a pattern of the domain's glob syntax that matches only itself. */
export function escapeGlob(path: string): string {
  return path.replace(/[*?[]/g, '[$&]');
}

async function realOrUndefined(path: string): Promise<string | undefined> {
  try {
    return await realpath(path);
  } catch {
    // Missing, a dangling link, a loop or a parent the agent may not search: nothing to add.
    return undefined;
  }
}
