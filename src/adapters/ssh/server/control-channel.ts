/**
 * The control protocol of one connection (docs/protocol.md): the hello that registers the agent,
 * its progress and result lines, the welcome once the agent is announced, and its presence when the
 * connection goes. Separate because it is the protocol itself; the listener around it only decides
 * which channels get here.
 */
import type { Connection, ServerChannel } from 'ssh2';
import type { ClientPresence } from '../../../ports/client-presence.ts';
import type { Logger } from '../../../ports/logger.ts';
import { messageOf } from '../../../domain/errors.ts';
import {
  encodeLine,
  LineSplitter,
  MAX_READ,
  parseHello,
  parseJson,
  PROTOCOL_VERSION,
  type ServerMessage,
} from '../protocol.ts';
import type { AgentChannels } from './agent-channels.ts';
import { AgentConnection } from './agent-connection.ts';

export interface ControlChannelDeps {
  channels: AgentChannels;
  presence: ClientPresence;
  logger: Logger;
}

export class ControlChannel {
  /** The agent once a hello was taken on this connection. */
  agent: AgentConnection | undefined;
  private announced: Promise<unknown> = Promise.resolve();

  /** helloTaken is told when an agent registered, to stop the hello's deadline. */
  constructor(
    private readonly client: Connection,
    private readonly deps: ControlChannelDeps,
    private readonly helloTaken: () => void,
  ) {}

  /** Speaks the control protocol on a channel that opened the control subsystem. */
  serve(channel: ServerChannel): void {
    const { client, deps } = this;
    const log = deps.logger;
    let agent: AgentConnection | undefined;
    const send = (m: ServerMessage): void => void (channel.writable && channel.write(encodeLine(m)));
    const fail = (message: string): void => {
      log.warn({ client_id: agent?.clientId, problem: message }, 'control channel refused');
      send({ type: 'error', message });
      channel.end();
      client.end();
    };
    const splitter = new LineSplitter((line) => {
      const m = parseJson(line);
      if (!m) return fail('a control line is not a JSON object');
      if (agent) {
        if (m.type === 'progress') agent.progress(m.req_id, m.bytes);
        else if (m.type === 'result') agent.result(m.req_id, m.status, m.message);
        else send({ type: 'error', message: `unknown message type ${JSON.stringify(m.type)}` });
        return;
      }
      const info = parseHello(m);
      if (typeof info === 'string') return fail(info);
      if (deps.channels.has(info.id)) return fail(`client id ${info.id} is already connected`);
      const connected = new AgentConnection(info.id, channel);
      deps.channels.add(connected);
      agent = connected;
      const announced = deps.presence.announce(info);
      this.agent = connected;
      this.announced = announced;
      this.helloTaken();
      announced
        .then(() => {
          log.info({ client_id: info.id, name: info.name, hostname: info.hostname }, 'client connected');
          send({ type: 'welcome', protocol: PROTOCOL_VERSION, max_read: MAX_READ });
        })
        .catch((e: unknown) => {
          fail(`the server could not register client ${info.id}: ${messageOf(e)}`);
        });
    }, fail);
    channel.on('data', (chunk: Buffer) => splitter.push(chunk));
    channel.on('error', () => undefined);
    // The control channel is the agent's presence: without it, the connection has no purpose.
    channel.on('close', () => client.end());
  }

  /** The connection closed: the agent's pushes fail, and it is marked disconnected. */
  closed(address: string): void {
    const agent = this.agent;
    if (!agent) return;
    const log = this.deps.logger;
    agent.lost(`the connection to client ${agent.clientId} was closed`);
    if (this.deps.channels.remove(agent)) {
      const id = agent.clientId;
      log.info({ client_id: id, address }, 'client disconnected');
      // After the announce settles, so that a quick drop never leaves the client marked connected.
      void this.announced
        .catch(() => undefined)
        .then(() => this.deps.presence.disconnected(id))
        .catch((e: unknown) => log.error({ err: messageOf(e) }, 'marking a client disconnected failed'));
    }
  }
}
