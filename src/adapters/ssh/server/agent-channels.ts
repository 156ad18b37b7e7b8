import type { ClientChannel, ClientChannels } from '../../../ports/client-channel.ts';
import type { AgentConnection } from './agent-connection.ts';

/** The control channels of the agents connected now, by client id. */
export class AgentChannels implements ClientChannels {
  private readonly byId = new Map<string, AgentConnection>();

  channelFor(clientId: string): ClientChannel | undefined {
    return this.byId.get(clientId);
  }

  has(clientId: string): boolean {
    return this.byId.has(clientId);
  }

  add(agent: AgentConnection): void {
    this.byId.set(agent.clientId, agent);
  }

  /** Removes the agent only if it is still the one registered under its id. */
  remove(agent: AgentConnection): boolean {
    if (this.byId.get(agent.clientId) !== agent) return false;
    this.byId.delete(agent.clientId);
    return true;
  }

  get connectedIds(): string[] {
    return [...this.byId.keys()];
  }
}
