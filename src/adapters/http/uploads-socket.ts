import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer } from 'ws';
import { messageOf } from '../../domain/errors.ts';
import type { Logger } from '../../ports/logger.ts';
import type { WsResultBroadcaster } from '../ws/ws-result-broadcaster.ts';
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
          broadcaster.add(ws, caller);
          logger.debug({ user: caller.username, listeners: broadcaster.size }, 'results listener connected');
        }),
      (e: unknown) => {
        logger.debug({ url: req.url, reason: messageOf(e) }, 'results listener refused');
        refuseUpgrade(socket, 401, messageOf(e));
      },
    );
  };
}
