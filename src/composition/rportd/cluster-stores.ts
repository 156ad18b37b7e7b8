// `[cluster] database_url` at start: connect to PostgreSQL and bring its schema up to date before
// the object graph is built, so that a database rportd cannot use stops the start (exit 2) with the
// key to fix, and the password never shows.
import { ConfigError } from '../../adapters/config/server-config-values.ts';
import type { ServerConfig } from '../../adapters/config/server-config.ts';
import { redactUrl } from '../../adapters/postgres/postgres-database.ts';
import { openPostgresStores, type PostgresStores } from '../../adapters/postgres/postgres-stores.ts';
import type { Logger } from '../../ports/logger.ts';

export const DATABASE_KEY = '[cluster] database_url';

/** The PostgreSQL stores for node `[cluster] node_id`; undefined without a database_url (SQLite then). */
export async function openClusterStores(
  config: ServerConfig,
  logger: Logger,
): Promise<PostgresStores | undefined> {
  const { database_url: url, node_id } = config.cluster;
  if (url === undefined) return undefined;
  let stores: PostgresStores;
  try {
    stores = await openPostgresStores(url, node_id, {
      // A connection that drops while rportd runs is not fatal: the pool opens another on the next query.
      onError: (e) =>
        logger.warn(
          { node_id, database: redactUrl(url), reason: e.message },
          'PostgreSQL connection lost; the next query opens a new one',
        ),
    });
  } catch (e) {
    // openPostgresStores names the database with its password masked; a bare failure gets it here.
    const reason = withoutPassword((e as Error).message, url);
    const shown = reason.includes(redactUrl(url)) ? reason : `${redactUrl(url)}: ${reason}`;
    throw new ConfigError(`${DATABASE_KEY}: cannot use the database: ${shown}`);
  }
  logger.info({ node_id, database: redactUrl(url) }, 'stores on PostgreSQL');
  return stores;
}

/** The text with the URL's password masked wherever it appears, as written or decoded. */
function withoutPassword(text: string, url: string): string {
  let password: string;
  try {
    password = new URL(url).password;
  } catch {
    return text;
  }
  if (!password) return text;
  let decoded = password;
  try {
    decoded = decodeURIComponent(password);
  } catch {
    // a stray % leaves it as written
  }
  return text.replaceAll(password, '***').replaceAll(decoded, '***');
}
