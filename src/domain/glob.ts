/**
 * A small glob matcher for protected paths and client-group patterns: `*` and `?` stay within one
 * path segment, `**` crosses segments, `[abc]` is a class. Kept in the domain because the policy
 * it serves is a rule of the spec, and fast-glob matches files on disk, not strings.
 */
export function globToRegExp(
  pattern: string,
  opts: { separator?: '/' | '\\' | null; caseInsensitive?: boolean } = {},
): RegExp {
  // null: plain strings (client attributes), where `*` matches any characters.
  const sep = opts.separator === undefined ? '/' : opts.separator;
  const notSep = sep === null ? '.' : sep === '/' ? '[^/]' : '[^\\\\]';
  let re = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i];
    if (c === '*') {
      if (pattern[i + 1] === '*') {
        re += '.*';
        i++;
      } else re += notSep + '*';
    } else if (c === '?') re += notSep;
    else if (c === '[') {
      const end = pattern.indexOf(']', i + 1);
      if (end < 0) re += '\\[';
      else {
        const body = pattern.slice(i + 1, end).replace(/\\/g, '\\\\');
        re += '[' + (body.startsWith('!') ? '^' + body.slice(1) : body) + ']';
        i = end;
      }
    } else re += c.replace(/[.+^${}()|\\\]]/g, '\\$&');
  }
  return new RegExp('^' + re + '$', opts.caseInsensitive ? 'i' : '');
}

/** Matches a plain string such as a client name or tag: `*` spans any characters, '/' included. */
export function globMatch(pattern: string, value: string, caseInsensitive = false): boolean {
  return globToRegExp(pattern, { separator: null, caseInsensitive }).test(value);
}
