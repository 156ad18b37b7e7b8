/** How tags select clients: any of the tags (OR, openrport's default) or all of them (AND). */
export type TagOperator = 'OR' | 'AND';

export interface TagSelector {
  tags: string[];
  operator: TagOperator;
}

/** Which clients an upload goes to: explicit client ids, client groups, or both; or else tags. */
export interface TargetSelector {
  clientIds: string[];
  groupIds: string[];
  /** openrport's `tags` field; never given together with client ids or group ids. */
  tags?: TagSelector;
}

export const hasTargets = (t: TargetSelector): boolean =>
  t.clientIds.length + t.groupIds.length > 0 || t.tags !== undefined;

/** Tags compare exactly, as openrport's do. */
export function matchesTags(selector: TagSelector, clientTags: string[]): boolean {
  const has = (tag: string): boolean => clientTags.includes(tag);
  return selector.operator === 'AND' ? selector.tags.every(has) : selector.tags.some(has);
}

export const describeTags = (s: TagSelector): string => `tags ${JSON.stringify(s.tags)} (${s.operator})`;
