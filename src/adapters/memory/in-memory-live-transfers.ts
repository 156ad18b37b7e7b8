import type { LiveTransfers } from '../../ports/live-transfers.ts';

/** The grants in a Set: enough for production too, since grants live only as long as the process. */
export class InMemoryLiveTransfers implements LiveTransfers {
  private readonly granted = new Set<string>();

  grant(clientId: string, stagedName: string): void {
    this.granted.add(key(clientId, stagedName));
  }

  revoke(clientId: string, stagedName: string): void {
    this.granted.delete(key(clientId, stagedName));
  }

  isAllowed(clientId: string, stagedName: string): boolean {
    return this.granted.has(key(clientId, stagedName));
  }

  get size(): number {
    return this.granted.size;
  }
}

const key = (clientId: string, stagedName: string): string => JSON.stringify([clientId, stagedName]);
