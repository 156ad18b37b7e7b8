import type { FileStatus } from '../ports/local-files.ts';
import type { ProtectedPaths, RealRoot } from './protected-paths.ts';

/**
 * Why the agent refuses a destination: the protected path rule, on the destination as given (dest,
 * already in normal form) and on where it really leads (real).
 */
export function protectedRefusal(rule: ProtectedPaths, dest: string, real: string): string | undefined {
  const direct = rule.refusingNormalized(dest);
  if (direct) return `${dest} is a protected path (matches "${direct}" in [file-reception] protected)`;
  return linkRefusal(rule, dest, real);
}

/**
 * The protected path rule on where dest leads through symlinked parents, then the real roots on
 * both. real comes from the filesystem, not from checkDestination, so it is normalised here.
 */
export function linkRefusal(rule: ProtectedPaths, dest: string, real: string): string | undefined {
  const viaLink = real === dest ? undefined : rule.refusing(real);
  if (viaLink)
    return `${dest} leads through a symlink to ${real}, a protected path (matches "${viaLink}" in [file-reception] protected)`;
  return realRootRefusal(rule, dest, real);
}

/**
 * Where the patterns really lead on this host: on a merged-/usr host `/usr/lib/x` matches no
 * pattern, but `/lib*` names `/lib -> usr/lib`. Checked on dest and on where it leads.
 */
function realRootRefusal(rule: ProtectedPaths, dest: string, real: string): string | undefined {
  const whose = (r: RealRoot): string =>
    `within ${r.real}, the real path on this host of "${r.pattern}" in [file-reception] protected`;
  const direct = rule.realRootOfNormalized(dest);
  if (direct) return `${dest} is a protected path (${whose(direct)})`;
  const viaLink = real === dest ? undefined : rule.realRootOf(real);
  return viaLink
    ? `${dest} leads through a symlink to ${real}, a protected path (${whose(viaLink)})`
    : undefined;
}

/** An existing destination the agent never writes over: a directory, a link, anything but a regular file. */
export function unusableTarget(dest: string, s: FileStatus): string | undefined {
  if (s.type === 'directory') return `${dest} is an existing directory; give the full path of the file`;
  if (s.type === 'symlink') return `${dest} is a symbolic link; rport never writes through a link`;
  if (s.type === 'other') return `${dest} exists and is not a regular file`;
  return undefined;
}
