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
 * The client's deny list. A destination is refused when the path itself, or any directory above it,
 * matches one of the glob patterns. Windows matching ignores case and separator style.
 */
export class ProtectedPaths {
  private readonly matchers: { pattern: string; re: RegExp }[];

  constructor(
    patterns: string[],
    private readonly flavor: PathFlavor,
  ) {
    this.matchers = patterns.map((pattern) => ({ pattern, re: this.compile(pattern) }));
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
    for (const candidate of selfAndAncestors(normalized, this.flavor)) {
      const hit = this.matchers.find((m) => m.re.test(candidate));
      if (hit) return hit.pattern;
    }
    return undefined;
  }

  private compile(pattern: string): RegExp {
    if (this.flavor === 'posix') {
      const p = normalizePosix(pattern) ?? pattern;
      return globToRegExp(p, { separator: '/' });
    }
    // Normalise the literal parts of the pattern like a path, keeping glob characters.
    const p =
      normalizeWindows(pattern.replace(/\//g, '\\')) ?? pattern.replace(/\//g, '\\').replace(/\\+$/, '');
    return globToRegExp(p, { separator: '\\', caseInsensitive: true });
  }
}
