/**
 * Destination paths, normalised without touching a filesystem, for POSIX and Windows clients.
 * The domain cannot import node:path, and the rules here (NUL, trailing separator, Windows
 * prefixes and trailing dots) are stricter than node's anyway.
 */
export type PathFlavor = 'posix' | 'windows';

type DestinationCheck = { ok: true; normalized: string } | { ok: false; problem: string };

const WIN_DRIVE = /^[A-Za-z]:[\\/]/;

export function flavorOf(path: string): PathFlavor {
  return WIN_DRIVE.test(path) || path.startsWith('\\\\') ? 'windows' : 'posix';
}

/** Checks that dest is a usable absolute file path and returns its normal form. */
export function checkDestination(
  dest: string | undefined,
  flavor: PathFlavor = flavorOf(dest ?? ''),
): DestinationCheck {
  if (dest === undefined || dest === '')
    return { ok: false, problem: 'dest is required: give the absolute path of the file on the client' };
  if (dest.includes('\0')) return { ok: false, problem: 'dest contains a NUL byte' };
  if (/[\\/]$/.test(dest))
    return {
      ok: false,
      problem: `dest "${dest}" ends with a path separator: give a file path, not a directory`,
    };
  const normalized = flavor === 'windows' ? normalizeWindows(dest) : normalizePosix(dest);
  if (normalized === undefined) return { ok: false, problem: `dest "${dest}" is not an absolute path` };
  if (normalized === '/' || /^[a-z]:\\$/i.test(normalized))
    return { ok: false, problem: `dest "${dest}" is a root directory, not a file path` };
  return { ok: true, normalized };
}

/** "/a//b/./c/../d" -> "/a/b/d"; undefined when the path is not absolute. ".." never climbs above "/". */
export function normalizePosix(p: string): string | undefined {
  if (!p.startsWith('/')) return undefined;
  const out: string[] = [];
  for (const seg of p.split('/')) {
    if (seg === '' || seg === '.') continue;
    if (seg === '..') out.pop();
    else out.push(seg);
  }
  return '/' + out.join('/');
}

/**
 * Windows: either separator, `\\?\` and `\\.\` device prefixes, UNC shares, trailing dots and spaces
 * of each segment (which Windows strips), case kept. Returns "C:\dir\file" or "\\server\share\file".
 */
export function normalizeWindows(p: string): string | undefined {
  let s = p.replace(/\//g, '\\');
  if (/^\\\\[?.]\\/.test(s)) {
    s = s.slice(4);
    if (/^UNC\\/i.test(s)) s = '\\\\' + s.slice(4);
  }
  let root: string;
  let rest: string;
  const drive = /^([A-Za-z]):\\(.*)$/.exec(s);
  const unc = /^\\\\([^\\]+)\\([^\\]+)(?:\\(.*))?$/.exec(s);
  if (drive) {
    root = drive[1].toUpperCase() + ':\\';
    rest = drive[2];
  } else if (unc && isLocalAdminShare(unc[1], unc[2])) {
    // \\localhost\C$\Windows is C:\Windows under another name.
    root = unc[2][0].toUpperCase() + ':\\';
    rest = unc[3] ?? '';
  } else if (unc) {
    root = `\\\\${unc[1]}\\${unc[2]}\\`;
    rest = unc[3] ?? '';
  } else return undefined;
  const out: string[] = [];
  for (const raw of rest.split('\\')) {
    const seg = raw === '.' || raw === '..' ? raw : raw.replace(/[. ]+$/, '');
    if (seg === '' || seg === '.') continue;
    if (seg === '..') out.pop();
    else out.push(seg);
  }
  return root + out.join('\\');
}

const LOCAL_HOSTS = ['localhost', '127.0.0.1', '::1', '0:0:0:0:0:0:0:1'];

function isLocalAdminShare(server: string, share: string): boolean {
  return LOCAL_HOSTS.includes(server.toLowerCase()) && /^[A-Za-z]\$$/.test(share);
}

/** The path itself and every ancestor up to the root, deepest first. */
export function selfAndAncestors(normalized: string, flavor: PathFlavor): string[] {
  const sep = flavor === 'windows' ? '\\' : '/';
  const result = [normalized];
  let cur = normalized;
  for (;;) {
    const i = cur.lastIndexOf(sep);
    const rootLen = flavor === 'windows' ? windowsRootLength(cur) : 1;
    if (i < rootLen) break;
    cur = cur.slice(0, i);
    result.push(cur);
  }
  return result;
}

function windowsRootLength(p: string): number {
  const unc = /^\\\\[^\\]+\\[^\\]+\\/.exec(p);
  return unc ? unc[0].length : 3;
}
