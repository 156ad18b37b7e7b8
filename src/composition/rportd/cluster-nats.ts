// `[cluster] nats_url` at start: connect to NATS before the object graph is built, so that a NATS
// rportd cannot reach stops the start (exit 2) with the key to fix, and no password shows.
import { ConfigError } from '../../adapters/config/server-config-values.ts';
import type { ServerConfig } from '../../adapters/config/server-config.ts';
import { NatsLink } from '../../adapters/nats/nats-link.ts';
import type { Logger } from '../../ports/logger.ts';

export const NATS_KEY = '[cluster] nats_url';

/** The node's link to NATS; undefined without a nats_url (a node alone then, or on PostgreSQL only). */
export async function openClusterNats(config: ServerConfig, logger: Logger): Promise<NatsLink | undefined> {
  const { nats_url: url, node_id, database_url } = config.cluster;
  if (url === undefined) return undefined;
  let link: NatsLink;
  try {
    link = await NatsLink.open({ url });
  } catch (e) {
    const reason = withoutPasswords((e as Error).message, url);
    // The line starts with the key, as every start error does; the reason may name the URL again.
    throw new ConfigError(
      `${NATS_KEY}: cannot use NATS${reason.includes(shown(url)) ? '' : ` at ${shown(url)}`}: ${reason}`,
    );
  }
  // Routing reads which node holds each client from the shared registry: without it each node's
  // database is its own, so outcomes are relayed but targets stay with the node that accepted them.
  if (database_url === undefined)
    logger.warn(
      { node_id },
      `${NATS_KEY} is set without [cluster] database_url: outcomes are relayed to every node, but each node pushes only to its own agents (routing needs the shared database)`,
    );
  logger.info(
    { node_id, nats: shown(url), bucket: link.bucket },
    'staged files and routing on NATS, outcomes relayed to every node',
  );
  return link;
}

/** The URL list with each password masked. */
function shown(url: string): string {
  return withoutPasswords(url, url);
}

/** The text with the password of every URL of the list masked. */
function withoutPasswords(text: string, urls: string): string {
  let out = text;
  for (const one of urls.split(',')) {
    let password = '';
    try {
      password = new URL(one.trim()).password;
    } catch {
      // not a URL: the config check let it through only as one
    }
    if (!password) continue;
    out = out.replaceAll(password, '***');
    try {
      out = out.replaceAll(decodeURIComponent(password), '***');
    } catch {
      // a stray % leaves it as written
    }
  }
  return out;
}
