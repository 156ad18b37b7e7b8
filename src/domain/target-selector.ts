/** Which clients an upload goes to: explicit client ids, client groups, or both. */
export interface TargetSelector {
  clientIds: string[];
  groupIds: string[];
}

export const hasTargets = (t: TargetSelector): boolean => t.clientIds.length + t.groupIds.length > 0;
