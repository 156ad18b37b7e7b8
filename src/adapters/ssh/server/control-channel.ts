/**
 * The control protocol of one connection (docs/protocol.md): the challenge, the hello that proves
 * the agent's key and registers it, its progress and result lines, the welcome once the agent is
 * announced, and its presence when the connection goes. Separate because it is the protocol itself;
 * the listener around it only decides which channels get here.
 */
import type { Connection, ServerChannel } from 'ssh2';
import type { ClientPresence } from '../../../ports/client-presence.ts';
import type { Logger } from '../../../ports/logger.ts';
import type { ClientIdentity } from '../../../domain/client-identity.ts';
import { messageOf } from '../../../domain/errors.ts';
import { keyFingerprint, newChallenge, publicKeyOf, verifyProof } from '../hello-proof.ts';
import {
  encodeLine,
  isOutcomeStatus,
  LEGACY_CONTROL_SUBSYSTEM,
  LineSplitter,
  MAX_READ,
  parseHello,
  parseJson,
  PROTOCOL_VERSION,
  UPGRADE_AGENT,
  type ParsedHello,
  type ServerMessage,
} from '../protocol.ts';
import type { AgentChannels } from './agent-channels.ts';
import { AgentConnection } from './agent-connection.ts';

interface ControlChannelDeps {
  channels: AgentChannels;
  presence: ClientPresence;
  /** Which agent key each client id belongs to. */
  identity: ClientIdentity;
  logger: Logger;
  /** Told of the agent as soon as it is made, before it is registered and can get a push. */
  onAgent?: (agent: AgentConnection) => void;
}

/**
 * Protocol errors (unknown types, malformed progress or result lines) one control channel may make
 * before it is closed: each is answered, and an agent that never reads those answers must not make
 * the server hold them without end.
 */
export const MAX_PROTOCOL_ERRORS = 8;

/** A progress or result line that the agent's own code would never send: a sentence naming the fault. */
function malformed(m: Record<string, unknown>): string | undefined {
  if (m.type === 'progress') {
    if (typeof m.req_id === 'string' && typeof m.bytes === 'number' && Number.isFinite(m.bytes)) return;
    return 'progress needs req_id: string and bytes: number';
  }
  if (m.type === 'result') {
    if (typeof m.req_id === 'string' && isOutcomeStatus(m.status)) return;
    return 'result needs req_id: string and status: "success" | "ignored" | "error"';
  }
  return `unknown message type ${JSON.stringify(m.type)}`;
}

export class ControlChannel {
  /** The agent once a hello was taken on this connection. */
  agent: AgentConnection | undefined;
  private announced: Promise<unknown> = Promise.resolve();
  /** The connection closed: a hello still being checked registers nothing. */
  private gone = false;

  /**
   * helloTaken is told when an agent registered, to stop the hello's deadline; credentialId names the
   * client credential the connection logged in with.
   */
  constructor(
    private readonly client: Connection,
    private readonly address: string,
    private readonly deps: ControlChannelDeps,
    private readonly helloTaken: () => void,
    private readonly credentialId: () => string,
  ) {}

  /** Speaks the control protocol on a channel that opened the control subsystem (`subsystem` names which). */
  serve(channel: ServerChannel, subsystem: string): void {
    const { client, deps } = this;
    const log = deps.logger;
    const address = this.address;
    let agent: AgentConnection | undefined;
    let claimed: string | undefined;
    let checking = false;
    let errors = 0;
    // Fresh per connection: the hello must sign it, so a hello replayed from another connection fails.
    const challenge = newChallenge();
    const send = (m: ServerMessage): void => {
      // Back-pressure: an agent that does not read its answers is not read from until it does.
      if (channel.writable && !channel.write(encodeLine(m))) channel.pause();
    };
    channel.on('drain', () => channel.resume());
    const fail = (message: string): void => {
      splitter.stop();
      log.warn(
        {
          client_id: agent?.clientId ?? claimed,
          address,
          credential_id: this.credentialId(),
          problem: message,
        },
        'control channel refused',
      );
      send({ type: 'error', message });
      channel.end();
      client.end();
    };
    const protocolError = (message: string): void => {
      errors += 1;
      if (errors < MAX_PROTOCOL_ERRORS) return send({ type: 'error', message });
      fail(`${errors} protocol errors on this control channel (the last: ${message}); closing it`);
    };
    const splitter = new LineSplitter((line) => {
      const m = parseJson(line);
      if (!m) return fail('a control line is not a JSON object');
      if (agent) {
        const fault = malformed(m);
        if (fault) return protocolError(fault);
        if (m.type === 'progress') agent.progress(m.req_id, m.bytes);
        else agent.result(m.req_id, m.status, m.message, m.changed, m.diff, m.backup);
        return;
      }
      if (checking) return fail('a control line came before the hello was answered');
      const hello = parseHello(m);
      if (typeof hello === 'string') return fail(hello);
      const publicKey = publicKeyOf(hello.key);
      if (typeof publicKey === 'string') return fail(publicKey);
      checking = true;
      claimed = hello.info.id;
      verifyProof(publicKey, hello.proof, challenge, hello.info.id, hello.key)
        .then((proven) => this.admit(hello, proven))
        .then(
          (refusal) => {
            if (this.gone) return;
            if (refusal !== undefined) return fail(refusal);
            const info = hello.info;
            if (deps.channels.has(info.id)) return fail(`client id ${info.id} is already connected`);
            const connected = new AgentConnection(info.id, channel, hello.features);
            deps.onAgent?.(connected);
            deps.channels.add(connected);
            agent = connected;
            // Only now, for an agent that proved the id's key, do the client's stored facts change.
            const announced = deps.presence.announce(info);
            this.agent = connected;
            this.announced = announced;
            this.helloTaken();
            announced
              .then(() => {
                log.info(
                  { client_id: info.id, client_name: info.name, hostname: info.hostname },
                  'client connected',
                );
                send({ type: 'welcome', protocol: PROTOCOL_VERSION, max_read: MAX_READ });
              })
              .catch((e: unknown) => {
                fail(`the server could not register client ${info.id}: ${messageOf(e)}`);
              });
          },
          (e: unknown) => fail(`the server could not check the key of client ${claimed}: ${messageOf(e)}`),
        );
    }, fail);
    channel.on('data', (chunk: Buffer) => splitter.push(chunk));
    channel.on('error', () => undefined);
    // The control channel is the agent's presence: without it, the connection has no purpose.
    channel.on('close', () => client.end());
    if (subsystem === LEGACY_CONTROL_SUBSYSTEM)
      return fail(
        `control subsystem ${LEGACY_CONTROL_SUBSYSTEM} (protocol 1) is no longer accepted: ${UPGRADE_AGENT}`,
      );
    send({ type: 'challenge', protocol: PROTOCOL_VERSION, challenge });
  }

  /** Checks the hello's key against the id's binding; undefined when admitted, else why not. */
  private async admit(hello: ParsedHello, proven: boolean): Promise<string | undefined> {
    const admission = await this.deps.identity.admit({
      clientId: hello.info.id,
      key: hello.key,
      fingerprint: keyFingerprint(hello.key),
      proven,
      credentialId: this.credentialId(),
      address: this.address,
      online: this.deps.channels.has(hello.info.id),
    });
    if (admission.admitted) {
      if (admission.firstBinding)
        this.deps.logger.info(
          { client_id: hello.info.id, key: admission.binding.fingerprint, address: this.address },
          'client id bound to its agent key',
        );
      return undefined;
    }
    return admission.message;
  }

  /** The connection closed: the agent's pushes fail, and it is marked disconnected. */
  closed(address: string): void {
    this.gone = true;
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
