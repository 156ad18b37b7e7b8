// `[cluster] database_url` at start: connect to PostgreSQL and bring its schema up to date before
// the object graph is built, so that a database rportd cannot use stops the start (exit 2) with the
// key to fix, and the password never shows.
import { ConfigError } from '../../adapters/config/server-config-values.ts';
import type { ServerConfig } from '../../adapters/config/server-config.ts';
import { redactUrl } from '../../adapters/postgres/postgres-database.ts';
import { PostgresHealth } from '../../adapters/postgres/postgres-health.ts';
import { openPostgresStores, type PostgresStores } from '../../adapters/postgres/postgres-stores.ts';
import type { Logger } from '../../ports/logger.ts';

export const DATABASE_KEY = '[cluster] database_url';

/** The PostgreSQL stores, and the health of their database that the API reports and uploads wait for. */
export type ClusterStores = PostgresStores & { health: PostgresHealth };

/** The PostgreSQL stores for node `[cluster] node_id`; undefined without a database_url (SQLite then). */
export async function openClusterStores(
  config: ServerConfig,
  logger: Logger,
): Promise<ClusterStores | undefined> {
  const { database_url: url, node_id } = config.cluster;
  if (url === undefined) return undefined;
  const database = redactUrl(url);
  let stores: PostgresStores | undefined;
  // An outage is logged once when it starts and once when it ends, however many connections drop.
  const health = new PostgresHealth(() => stores!.db.query('SELECT 1'), {
    onChange: (s) =>
      s.ok
        ? logger.info({ node_id, database }, 'PostgreSQL answers again; uploads are accepted')
        : logger.warn(
            { node_id, database, reason: s.detail },
            `PostgreSQL unreachable; uploads are refused with 503 until it answers (${DATABASE_KEY})`,
          ),
  });
  try {
    stores = await openPostgresStores(url, node_id, {
      // A connection that drops while rportd runs is not fatal: the pool opens another on the next
      // query. Whether the server is gone is the probe's to tell.
      onError: () => {
        if (stores) health.lost();
      },
    });
  } catch (e) {
    // openPostgresStores names the database with its password masked; a bare failure gets it here.
    const reason = withoutPassword((e as Error).message, url);
    const shown = reason.includes(redactUrl(url)) ? reason : `${redactUrl(url)}: ${reason}`;
    throw new ConfigError(`${DATABASE_KEY}: cannot use the database: ${shown}`);
  }
  logger.info({ node_id, database }, 'stores on PostgreSQL');
  const opened = stores;
  return {
    ...opened,
    health,
    close: async () => {
      health.stop();
      await opened.close();
    },
  };
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
