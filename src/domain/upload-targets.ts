import type { ClientGroupStore } from '../ports/client-group-store.ts';
import type { ClientRegistry } from '../ports/client-registry.ts';
import { mayAccessClient, mayUseGroup, type Caller } from './caller.ts';
import { clientsOfGroup } from './client-group.ts';
import type { ClientGroup } from './client-group.ts';
import { describeTags, matchesTags, type TagSelector, type TargetSelector } from './target-selector.ts';
import { passed, refused, type OrRefused } from './upload-rejection.ts';

/**
 * The clients an upload goes to: every client id must exist and be reachable by the caller, every
 * client group must exist and be allowed for the caller, and the groups are expanded to their
 * clients; or else tags select them. Yields client ids, each once, in the order given.
 */
export async function resolveTargets(
  caller: Caller,
  selector: TargetSelector,
  clients: ClientRegistry,
  groups: ClientGroupStore,
): Promise<OrRefused<string[]>> {
  const allGroups = await groups.list();
  if (selector.tags) return resolveTags(caller, selector.tags, clients, allGroups);
  const ids = new Set<string>();
  for (const id of selector.clientIds) {
    const client = await clients.get(id);
    if (!client) return refused('not-found', 'client_id', `unknown client_id "${id}"`);
    if (!mayAccessClient(caller, client, allGroups))
      return refused('forbidden', 'client_id', `user ${caller.username} may not push to client ${id}`);
    ids.add(id);
  }
  if (selector.groupIds.length > 0) {
    const everyone = await clients.list();
    for (const gid of selector.groupIds) {
      const group = await groups.get(gid);
      if (!group) return refused('not-found', 'group_id', `unknown group_id "${gid}"`);
      if (!mayUseGroup(caller, group))
        return refused(
          'forbidden',
          'group_id',
          `user ${caller.username} may not push to client group ${gid}`,
        );
      for (const c of clientsOfGroup(group, everyone)) ids.add(c.id);
    }
  }
  if (ids.size === 0)
    return refused('invalid', 'group_id', 'the given client groups hold no clients: nothing to push to');
  return passed([...ids]);
}

/**
 * openrport's tag targeting: every known client, connected or not, whose tags match. A non-admin
 * must reach each of them (the same rule as for a client_id), or the upload is refused; the
 * refusal does not name the clients the caller may not see.
 */
async function resolveTags(
  caller: Caller,
  tags: TagSelector,
  clients: ClientRegistry,
  allGroups: ClientGroup[],
): Promise<OrRefused<string[]>> {
  const matched = (await clients.list()).filter((c) => matchesTags(tags, c.tags));
  if (matched.length === 0)
    return refused('invalid', 'tags', `no known client has ${describeTags(tags)}: nothing to push to`);
  const denied = matched.filter((c) => !mayAccessClient(caller, c, allGroups)).length;
  if (denied > 0)
    return refused(
      'forbidden',
      'tags',
      `${describeTags(tags)} select ${matched.length} clients, ${denied} of which user ${caller.username} may not push to`,
    );
  return passed(matched.map((c) => c.id));
}
