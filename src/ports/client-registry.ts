import type { ClientInfo } from '../domain/client.ts';
import type { ClientGroup } from '../domain/client-group.ts';

/** Known clients (connected or not), as they last announced themselves. */
export interface ClientRegistry {
  get(id: string): Promise<ClientInfo | undefined>;
  list(): Promise<ClientInfo[]>;
}

/** Client groups, by id. */
export interface ClientGroupStore {
  get(id: string): Promise<ClientGroup | undefined>;
  list(): Promise<ClientGroup[]>;
}
