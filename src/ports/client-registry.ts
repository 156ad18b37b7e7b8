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

/**
 * Written by the client listener (SSH adapter), read through ClientRegistry: a client announces
 * itself when its control channel opens and is marked disconnected when its connection ends.
 */
export interface ClientPresence {
  announce(info: Omit<ClientInfo, 'connected'>): Promise<void>;
  disconnected(id: string): Promise<void>;
}

/** Client credentials (`[server] auth`, `auth_file`, or the database), checked in constant time. */
export interface ClientCredentials {
  verify(credentialId: string, password: string): Promise<boolean>;
}
