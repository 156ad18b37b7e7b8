import type { ClientInfo } from '../domain/client.ts';

/**
 * Written by the agent listener (SSH adapter), read through ClientRegistry: a client announces
 * itself when its control channel opens and is marked disconnected when its connection ends.
 */
export interface ClientPresence {
  announce(info: Omit<ClientInfo, 'connected'>): Promise<void>;
  disconnected(id: string): Promise<void>;
}
