import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer } from 'ws';
import { messageOf } from '../../domain/errors.ts';
import type { Logger } from '../../ports/logger.ts';
import type { ListenerOptions, WsResultBroadcaster } from '../ws/ws-result-broadcaster.ts';
import type { ApiAuth } from './api-auth.ts';
import { refuseUpgrade, type UpgradeHandler } from './http-server.ts';

export const UPLOADS_SOCKET_PATH = '/api/v1/ws/uploads';
const BEARER = 'bearer';

/**
 * The token of an upgrade request: `Sec-WebSocket-Protocol: bearer, <token>` (kept out of URLs and
 * access logs), the `access_token` query parameter (as in RPort), or an Authorization header.
 */
function tokenOf(req: IncomingMessage): string | undefined {
  const protocols = (req.headers['sec-websocket-protocol'] ?? '').split(',').map((s) => s.trim());
  const i = protocols.findIndex((p) => p.toLowerCase() === BEARER);
  if (i >= 0 && protocols[i + 1]) return protocols[i + 1];
  const query = new URL(req.url ?? '/', 'http://x').searchParams.get('access_token');
  if (query) return query;
  const auth = req.headers.authorization;
  return auth && /^bearer\s+/i.test(auth) ? auth.replace(/^bearer\s+/i, '') : undefined;
}

/** `?progress=1` asks for transfer progress too; absent or 0 keeps the messages exactly the outcomes. */
function optionsOf(req: IncomingMessage): ListenerOptions | string {
  const values = new URL(req.url ?? '/', 'http://x').searchParams.getAll('progress');
  if (values.length === 0) return { progress: false };
  if (values.length > 1) return 'the query parameter progress is given more than once';
  if (values[0] === '1') return { progress: true };
  if (values[0] === '0') return { progress: false };
  return `the query parameter progress must be 1 or 0, not ${JSON.stringify(values[0].slice(0, 32))}`;
}

/** GET /api/v1/ws/uploads: authenticated before the upgrade; a refused upgrade answers 401 with an error document. */
export function uploadsSocket(
  auth: ApiAuth,
  broadcaster: WsResultBroadcaster,
  logger: Logger,
): UpgradeHandler {
  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: 4096,
    handleProtocols: (protocols) => (protocols.has(BEARER) ? BEARER : false),
  });
  return (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const options = optionsOf(req);
    if (typeof options === 'string') return refuseUpgrade(socket, 400, options);
    const token = tokenOf(req);
    if (!token)
      return refuseUpgrade(
        socket,
        401,
        'authorization required: pass access_token=<token> or Sec-WebSocket-Protocol: bearer, <token>',
      );
    auth.callerOfToken(token).then(
      (caller) =>
        wss.handleUpgrade(req, socket, head, (ws) => {
          broadcaster.add(ws, caller, options);
          logger.debug(
            { user: caller.username, listeners: broadcaster.size, progress: options.progress },
            'results listener connected',
          );
        }),
      (e: unknown) => {
        logger.debug({ url: req.url, reason: messageOf(e) }, 'results listener refused');
        refuseUpgrade(socket, 401, messageOf(e));
      },
    );
  };
}
