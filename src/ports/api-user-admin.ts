/** A user as the users API shows them: never a password or its hash. */
export interface ApiUserView {
  username: string;
  /** Sorted. */
  groups: string[];
}

/** What an update changes; a key left out keeps its value. */
export interface ApiUserChanges {
  username?: string;
  password?: string;
  groups?: string[];
}

/** Why an edit of the users was not made: each becomes its own HTTP answer. */
export type UserEditRefusal = 'not-found' | 'exists' | 'last-admin';

/**
 * The database's API users, as the users API edits them. Absent when rportd.conf's `[api] auth`
 * names the one static user: there is nothing to edit then.
 */
export interface ApiUserAdmin {
  /** Sorted by username. */
  list(): Promise<ApiUserView[]>;
  get(username: string): Promise<ApiUserView | undefined>;
  create(username: string, password: string, groups: string[]): Promise<UserEditRefusal | undefined>;
  update(username: string, changes: ApiUserChanges): Promise<UserEditRefusal | undefined>;
  delete(username: string): Promise<UserEditRefusal | undefined>;
}

/** One user group: a name with openrport's permission flags (kept and shown; access comes from client groups). */
export interface UserGroupView {
  name: string;
  permissions: Record<string, boolean>;
}

/** The user groups: those with stored details and those only named in memberships. */
export interface UserGroupAdmin {
  /** Sorted by name. */
  list(): Promise<UserGroupView[]>;
  get(name: string): Promise<UserGroupView | undefined>;
  /** Creates or replaces the group's details. */
  put(group: UserGroupView): Promise<void>;
  /** Removes the details and every membership; false when the group was unknown. */
  delete(name: string): Promise<boolean>;
}
