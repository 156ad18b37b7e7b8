import {
  checkDestination,
  normalizePosix,
  normalizeWindows,
  selfAndAncestors,
  type PathFlavor,
} from './destination.ts';
import { globToRegExp } from './glob.ts';

export const DEFAULT_PROTECTED_POSIX = [
  '/bin',
  '/sbin',
  '/boot',
  '/usr/bin',
  '/usr/sbin',
  '/dev',
  '/lib*',
  '/run',
];
export const DEFAULT_PROTECTED_WINDOWS = ['C:\\Windows\\', 'C:\\ProgramData'];

/**
 * A pattern with its literal parts normalised like a path, glob characters kept (Windows: either
 * separator, no trailing one). The agent's filesystem adapter expands patterns in this form too.
 */
export function normalizePattern(pattern: string, flavor: PathFlavor): string {
  if (flavor === 'posix') return normalizePosix(pattern) ?? pattern;
  const back = pattern.replace(/\//g, '\\');
  return normalizeWindows(back) ?? back.replace(/\\+$/, '');
}

/**
 * Where a protected pattern leads on this host, as the agent's filesystem adapter found it: the real
 * path of a match or of the pattern's literal part, written as a pattern of the same glob syntax
 * (glob characters of the path are escaped as classes, such as `[*]`). It may end in the rest of the
 * pattern: `/etc/*.conf` with `/etc` a link to `/private/etc` leads to `/private/etc/*.conf`.
 */
export interface RealRoot {
  /** The `[file-reception] protected` pattern it came from. */
  pattern: string;
  real: string;
}

interface Matcher {
  pattern: string;
  re: RegExp;
}

/**
 * The client's deny list. A destination is refused when the path itself, or any directory above it,
 * matches one of the glob patterns. Windows matching ignores case and separator style.
 *
 * The real roots add where the patterns lead on this host (on a merged-/usr host `/lib*` names
 * `/lib -> usr/lib`, so `/usr/lib` is protected too). They are matched the same way, path component
 * by path component, but apart from the patterns, so that a refusal can say which one it was.
 */
export class ProtectedPaths {
  private readonly matchers: Matcher[];
  private readonly roots: (Matcher & { real: string })[];

  constructor(
    readonly patterns: string[],
    private readonly flavor: PathFlavor,
    readonly realRoots: readonly RealRoot[] = [],
  ) {
    this.matchers = patterns.map((pattern) => ({ pattern, re: this.compile(pattern) }));
    this.roots = realRoots.map((r) => ({ ...r, re: this.compile(r.real) }));
  }

  /** The same patterns, with the real roots found on this host (replacing any given before). */
  withRealRoots(roots: readonly RealRoot[]): ProtectedPaths {
    return new ProtectedPaths(this.patterns, this.flavor, roots);
  }

  static defaults(flavor: PathFlavor): ProtectedPaths {
    return new ProtectedPaths(
      flavor === 'windows' ? DEFAULT_PROTECTED_WINDOWS : DEFAULT_PROTECTED_POSIX,
      flavor,
    );
  }

  /** The pattern that refuses this destination, or undefined when it is allowed. */
  refusing(destination: string): string | undefined {
    const check = checkDestination(destination, this.flavor);
    return check.ok ? this.refusingNormalized(check.normalized) : undefined;
  }

  /** As refusing, for a path already in the normal form that checkDestination gives. */
  refusingNormalized(normalized: string): string | undefined {
    return this.holding(normalized, this.matchers)?.pattern;
  }

  /**
   * The real root that holds this path (the path itself or a directory above it), or undefined.
   * path may come from the filesystem, so it is normalised here; an invalid one is held by none.
   */
  realRootOf(path: string): RealRoot | undefined {
    const check = checkDestination(path, this.flavor);
    return check.ok ? this.realRootOfNormalized(check.normalized) : undefined;
  }

  /** As realRootOf, for a path already in the normal form that checkDestination gives. */
  realRootOfNormalized(normalized: string): RealRoot | undefined {
    const hit = this.holding(normalized, this.roots);
    return hit && { pattern: hit.pattern, real: hit.real };
  }

  /** The first matcher that matches the path or a directory above it, nearest first. */
  private holding<M extends Matcher>(normalized: string, matchers: readonly M[]): M | undefined {
    for (const candidate of selfAndAncestors(normalized, this.flavor)) {
      const hit = matchers.find((m) => m.re.test(candidate));
      if (hit) return hit;
    }
    return undefined;
  }

  private compile(pattern: string): RegExp {
    const p = normalizePattern(pattern, this.flavor);
    return this.flavor === 'posix'
      ? globToRegExp(p, { separator: '/' })
      : globToRegExp(p, { separator: '\\', caseInsensitive: true });
  }
}
