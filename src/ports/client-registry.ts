import type { ClientInfo } from '../domain/client.ts';

/** Known clients (connected or not), as they last announced themselves. */
export interface ClientRegistry {
  get(id: string): Promise<ClientInfo | undefined>;
  list(): Promise<ClientInfo[]>;
}
