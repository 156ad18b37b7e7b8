import type { ClientInfo } from '../../domain/client.ts';
import type { ClientPresence } from '../../ports/client-presence.ts';
import type { ClientRegistry } from '../../ports/client-registry.ts';

/** Known clients in a Map; announcing marks a client connected, disconnecting keeps it known. */
export class InMemoryClientRegistry implements ClientRegistry, ClientPresence {
  private readonly clients = new Map<string, ClientInfo>();

  constructor(initial: ClientInfo[] = []) {
    for (const c of initial) this.clients.set(c.id, structuredClone(c));
  }

  async get(id: string): Promise<ClientInfo | undefined> {
    const c = this.clients.get(id);
    return c && structuredClone(c);
  }

  async list(): Promise<ClientInfo[]> {
    return [...this.clients.values()].map((c) => structuredClone(c));
  }

  async announce(info: Omit<ClientInfo, 'connected'>): Promise<void> {
    this.clients.set(info.id, { ...structuredClone(info), connected: true });
  }

  async disconnected(id: string): Promise<void> {
    const c = this.clients.get(id);
    if (c) c.connected = false;
  }
}
