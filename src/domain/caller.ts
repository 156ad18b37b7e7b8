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

/** Administrators may use every client group; other users the groups allowed for one of their user groups. */
export const mayUseGroup = (caller: Caller, group: ClientGroup): boolean =>
  caller.admin || group.allowed_user_groups.some((ug) => caller.groups.includes(ug));

/** Administrators reach every client; other users reach the clients of client groups allowed for their user groups. */
export function mayAccessClient(caller: Caller, client: ClientInfo, groups: ClientGroup[]): boolean {
  if (caller.admin) return true;
  return groups.some((g) => mayUseGroup(caller, g) && groupMatches(g, client));
}
