import { createWebSocketStream, type WebSocket } from 'ws';
import type { AgentListener } from './agent-listener.ts';

/**
 * Server side of the WebSocket transport: give it each upgraded connection on the agents' path
 * (e.g. from a `WebSocketServer({ noServer: true })` on the HTTP listener) and it carries SSH.
 */
export function acceptAgentWebSocket(listener: AgentListener, ws: WebSocket, address: string): void {
  const stream = createWebSocketStream(ws);
  stream.on('error', () => ws.terminate());
  listener.accept(stream, address);
}
