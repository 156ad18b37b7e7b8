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

/**
 * Who may read an upload: its parameters, and each target's outcome, whether asked for afterwards
 * (GET /api/v1/files/:uuid) or sent live (the uploads WebSocket). Administrators read every upload,
 * other users the uploads they made. One rule for both, so a listener never learns what the query
 * would refuse. An unknown requester (empty) is readable by administrators only.
 */
export const mayReadUpload = (caller: Caller, requestedBy: string): boolean =>
  caller.admin || (requestedBy !== '' && requestedBy === caller.username);
