import type { ClientGroup } from '../../domain/client-group.ts';
import type { ClientGroupStore } from '../../ports/client-group-store.ts';

/** Client groups in a Map, sorted by id when listed like the database does. */
export class InMemoryClientGroupStore implements ClientGroupStore {
  private readonly groups = new Map<string, ClientGroup>();

  constructor(initial: ClientGroup[] = []) {
    for (const g of initial) this.put(g);
  }

  put(group: ClientGroup): void {
    this.groups.set(group.id, structuredClone(group));
  }

  delete(id: string): boolean {
    return this.groups.delete(id);
  }

  async get(id: string): Promise<ClientGroup | undefined> {
    const g = this.groups.get(id);
    return g && structuredClone(g);
  }

  async list(): Promise<ClientGroup[]> {
    return [...this.groups.values()]
      .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
      .map((g) => structuredClone(g));
  }
}
