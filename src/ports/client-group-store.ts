import type { ClientGroup } from '../domain/client-group.ts';

/** Client groups, by id. */
export interface ClientGroupStore {
  get(id: string): Promise<ClientGroup | undefined>;
  list(): Promise<ClientGroup[]>;
}

/** Client groups with the edits the API offers. */
export interface ClientGroupEditor extends ClientGroupStore {
  create(g: ClientGroup): Promise<boolean>;
  update(g: ClientGroup): Promise<boolean>;
  delete(id: string): Promise<boolean>;
}
