import type { Context, Next } from 'koa';
import type { ApiUserAdmin, UserEditRefusal, UserGroupAdmin } from '../../ports/api-user-admin.ts';
import { ApiError, forbidden, notFound, titleOf } from './api-error.ts';
import { callerOf } from './api-auth.ts';
import type { HttpAppDeps } from './http-app-deps.ts';

/** openrport answers 400 here too: with one static user there are no users to manage. */
export const staticAuthError = (): ApiError =>
  new ApiError(
    400,
    'static-auth',
    titleOf(400),
    "rportd.conf's [api] auth names the only API user: users and user groups are kept in the database only when [api] auth is not set; change the password there",
  );

/** Middleware: only members of Administrators go on (403 otherwise, naming the user). */
export const administratorsOnly =
  (what: string) =>
  async (ctx: Context, next: Next): Promise<void> => {
    const c = callerOf(ctx);
    if (!c.admin) throw forbidden(`user ${c.username} may not ${what}; only Administrators may`);
    await next();
  };

/** The database's users and groups, or the 400 of static auth. */
export function userAdminOf(d: HttpAppDeps): { users: ApiUserAdmin; groups: UserGroupAdmin } {
  if (!d.userAdmin) throw staticAuthError();
  return d.userAdmin;
}

/** The HTTP answer to a refused edit of the users. */
export function refusal(r: UserEditRefusal, username: string, field = 'user_id'): ApiError {
  switch (r) {
    case 'not-found':
      return notFound(`${field}: no user "${username}"`);
    case 'exists':
      return new ApiError(409, 'conflict', titleOf(409), `username: user "${username}" exists already`);
    case 'last-admin':
      return new ApiError(
        409,
        'last-admin',
        titleOf(409),
        `user "${username}" is the last member of Administrators: add another administrator first (or use rportd --reset-admin-password)`,
      );
  }
}
