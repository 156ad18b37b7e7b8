// `[cluster] nats_url` at start: connect to NATS and open the staged-files bucket before the object
// graph is built, so that an unreachable NATS stops the start (exit 2) with the key to fix. Once
// running, the connection retries for ever; an outage is logged once as it starts and once as it ends.
import { ConfigError } from '../../adapters/config/server-config-values.ts';
import type { ServerConfig } from '../../adapters/config/server-config.ts';
import { NatsLink } from '../../adapters/nats/nats-link.ts';
import type { Logger } from '../../ports/logger.ts';

export const NATS_KEY = '[cluster] nats_url';

/** The NATS link of this node; undefined without a nats_url (a node alone, or on PostgreSQL only). */
export async function openClusterNats(config: ServerConfig, logger: Logger): Promise<NatsLink | undefined> {
  const { nats_url: url, node_id, database_url } = config.cluster;
  if (url === undefined) return undefined;
  // Routing reads which node holds each client from the shared registry.
  if (database_url === undefined)
    throw new ConfigError(`${NATS_KEY}: needs [cluster] database_url (the nodes share their clients there)`);
  const shown = maskedUrls(url);
  let link: NatsLink;
  try {
    link = await NatsLink.open({ url });
  } catch (e) {
    throw new ConfigError(`${NATS_KEY}: cannot use NATS: ${masked((e as Error).message, url, shown)}`);
  }
  watchOutages(link, node_id, shown, logger).catch((e: unknown) =>
    logger.warn({ node_id, reason: (e as Error).message }, 'watching the NATS connection failed'),
  );
  logger.info({ node_id, nats: shown, bucket: link.bucket }, 'staged files and routing on NATS');
  return link;
}

async function watchOutages(link: NatsLink, nodeId: string, nats: string, logger: Logger): Promise<void> {
  let down = false;
  for await (const s of link.connection.status()) {
    if (s.type === 'disconnect' && !down) {
      down = true;
      logger.warn(
        { node_id: nodeId, nats },
        `NATS unreachable; uploads fail and targets on other nodes wait until it answers (${NATS_KEY})`,
      );
    } else if (s.type === 'reconnect' && down) {
      down = false;
      logger.info({ node_id: nodeId, nats }, 'NATS answers again');
    }
  }
}

/** The URLs of nats_url with their passwords masked. */
function maskedUrls(url: string): string {
  return url
    .split(',')
    .map((one) => {
      try {
        const u = new URL(one.trim());
        if (u.password) u.password = '***';
        return u.toString();
      } catch {
        return '(unparsable URL)';
      }
    })
    .join(',');
}

function masked(text: string, url: string, shown: string): string {
  let out = text.replaceAll(url, shown);
  for (const one of url.split(',')) {
    try {
      const password = new URL(one.trim()).password;
      if (password) out = out.replaceAll(password, '***').replaceAll(decodeURIComponent(password), '***');
    } catch {
      // not a URL: nothing to mask
    }
  }
  return out;
}
