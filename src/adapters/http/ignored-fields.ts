import type { Context } from 'koa';
import type { Logger } from '../../ports/logger.ts';

export const IGNORED_FIELDS_HEADER = 'X-Rport-Ignored-Fields';

/** Enough to show a mistyped field; a form of thousands of made-up names is cut short. */
const MAX_NAMES = 20;
const MAX_NAME_LENGTH = 100;

/**
 * Names the form fields the upload ignored, as openrport does silently: in a response header
 * (percent-encoded, so any name is a valid header value) and in the server log at warn.
 */
export function reportIgnoredFields(ctx: Context, logger: Logger, username: string, names: string[]): void {
  if (names.length === 0) return;
  const shown = names.slice(0, MAX_NAMES).map((n) => n.slice(0, MAX_NAME_LENGTH));
  const more = names.length > MAX_NAMES ? `, and ${names.length - MAX_NAMES} more` : '';
  ctx.set(IGNORED_FIELDS_HEADER, shown.map(encodeURIComponent).join(', ') + more);
  logger.warn(
    { user: username, fields: shown, count: names.length },
    `upload: ignored unknown form fields ${shown.map((n) => JSON.stringify(n)).join(', ')}${more}`,
  );
}
