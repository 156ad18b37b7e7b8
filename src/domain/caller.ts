import type { ClientInfo } from './client.ts';
import { groupMatches, type ClientGroup } from './client-group.ts';

/** The authenticated API user on whose behalf an upload or a listener acts. */
export interface Caller {
  username: string;
  /** Members of the "Administrators" user group may reach every client. */
  admin: boolean;
  groups: string[];
}

export const ADMIN_GROUP = 'Administrators';

/** Administrators reach every client; other users reach the clients of client groups allowed for their user groups. */
export function mayAccessClient(caller: Caller, client: ClientInfo, groups: ClientGroup[]): boolean {
  if (caller.admin) return true;
  return groups.some(
    (g) => g.allowed_user_groups.some((ug) => caller.groups.includes(ug)) && groupMatches(g, client),
  );
}
