import type { ClientInfo } from './client.ts';
import { globMatch } from './glob.ts';

/** Glob patterns on client attributes; every given attribute must match one of its patterns. */
interface ClientGroupParams {
  client_id?: string[];
  name?: string[];
  os?: string[];
  hostname?: string[];
  tag?: string[];
}

export interface ClientGroup {
  id: string;
  description: string;
  params: ClientGroupParams;
  /** User groups whose members may push to the clients of this group. */
  allowed_user_groups: string[];
}

export function groupMatches(group: ClientGroup, client: ClientInfo): boolean {
  const p = group.params;
  const any = (patterns: string[] | undefined, values: string[]): boolean =>
    patterns === undefined ||
    patterns.length === 0 ||
    patterns.some((pat) => values.some((v) => globMatch(pat, v, true)));
  const constrained = [p.client_id, p.name, p.os, p.hostname, p.tag].some(
    (x) => x !== undefined && x.length > 0,
  );
  return (
    constrained &&
    any(p.client_id, [client.id]) &&
    any(p.name, [client.name]) &&
    any(p.os, [client.os]) &&
    any(p.hostname, [client.hostname]) &&
    any(p.tag, client.tags)
  );
}

export const clientsOfGroup = (group: ClientGroup, clients: ClientInfo[]): ClientInfo[] =>
  clients.filter((c) => groupMatches(group, c));
