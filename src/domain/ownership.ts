/** Desired owner and group by name; an absent field means "leave as the agent's user/group". */
export interface Ownership {
  user?: string;
  group?: string;
}

/** A user or group name that is safe to hand to chown: no option-like, shell or path characters. */
const PLAIN_NAME = /^[A-Za-z_][A-Za-z0-9_.-]{0,31}\$?$/;
const NUMERIC_ID = /^[0-9]{1,10}$/;

export function isPlainAccountName(name: string): boolean {
  return PLAIN_NAME.test(name) || NUMERIC_ID.test(name);
}

/** Returns an error sentence naming the field at fault, or undefined when both names are plain. */
export function ownershipProblem(o: Ownership): string | undefined {
  for (const field of ['user', 'group'] as const) {
    const v = o[field];
    if (v !== undefined && !isPlainAccountName(v)) {
      return `${field} "${v}" is not a plain account name (letters, digits, '_', '.', '-'; at most 32 characters)`;
    }
  }
  return undefined;
}
