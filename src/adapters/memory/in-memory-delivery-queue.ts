import type { DeliveryQueue, QueuedTarget } from '../../ports/delivery-queue.ts';

const keyOf = (uuid: string, clientId: string): string => `${uuid}\n${clientId}`;

/** The delivery queue in a Map (insertion order is the queue's order), for the domain tests and the simulation. */
export class InMemoryDeliveryQueue implements DeliveryQueue {
  private readonly targets = new Map<string, QueuedTarget>();

  async enqueue(t: QueuedTarget): Promise<void> {
    const key = keyOf(t.uuid, t.client_id);
    const queued = this.targets.get(key);
    if (queued) queued.expires_at = new Date(t.expires_at);
    else this.targets.set(key, { ...t, expires_at: new Date(t.expires_at) });
  }

  async remove(uuid: string, clientId: string): Promise<boolean> {
    return this.targets.delete(keyOf(uuid, clientId));
  }

  async forClient(clientId: string): Promise<QueuedTarget[]> {
    return (await this.all()).filter((t) => t.client_id === clientId);
  }

  async all(): Promise<QueuedTarget[]> {
    return [...this.targets.values()].map((t) => ({ ...t, expires_at: new Date(t.expires_at) }));
  }

  /** One node, no one to race: every target of the client is this node's. */
  async claim(clientId: string, _leaseMs: number): Promise<QueuedTarget[]> {
    return this.forClient(clientId);
  }

  /** Nothing to give back; true when the target is queued (and so was this node's). */
  async release(uuid: string, clientId: string): Promise<boolean> {
    return this.targets.has(keyOf(uuid, clientId));
  }
}
