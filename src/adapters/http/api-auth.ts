import { randomUUID } from 'node:crypto';
import { errors as joseErrors, jwtVerify, SignJWT } from 'jose';
import type { Context, Next } from 'koa';
import type { Caller } from '../../domain/caller.ts';
import { ApiError, titleOf, unauthorized } from './api-error.ts';
import type { ApiUserDirectory } from '../../ports/api-user-directory.ts';

const ALGORITHM = 'HS256';
export const MAX_TOKEN_LIFETIME = 90 * 86_400;
const STAMP_CLAIM = 'ust';

/** Counts failed password checks per source address and bans an address after too many. */
interface LoginThrottle {
  isBanned(address: string): boolean;
  /** Records a failure (the username is for the log); resolves when the answer may go out. */
  failed(address: string, username: string): Promise<void>;
  succeeded(address: string): void;
}

const NO_THROTTLE: LoginThrottle = {
  isBanned: () => false,
  failed: async () => undefined,
  succeeded: () => undefined,
};

/** Logins and tokens: HS256 JWTs (no other algorithm is accepted), basic auth as an alternative. */
export class ApiAuth {
  constructor(
    private readonly users: ApiUserDirectory,
    private readonly secret: Uint8Array,
    /** Seconds, `[api] token_lifetime`. */
    readonly defaultLifetime: number,
    /** `[api] max_failed_login` / `ban_time`: password guessing is cut off per address. */
    private readonly throttle: LoginThrottle = NO_THROTTLE,
    private readonly banSeconds = 0,
  ) {}

  async issue(username: string, lifetime = this.defaultLifetime): Promise<string> {
    // The user's session stamp rides in the token: a password change (a new stamp) ends it.
    const stamp = await this.users.sessionStamp?.(username);
    return new SignJWT(stamp ? { [STAMP_CLAIM]: stamp } : {})
      .setProtectedHeader({ alg: ALGORITHM, typ: 'JWT' })
      .setSubject(username)
      .setIssuedAt()
      .setExpirationTime(Math.floor(Date.now() / 1000) + lifetime)
      .setJti(randomUUID())
      .sign(this.secret);
  }

  /** A password check from one address: 429 while the address is banned, undefined for wrong credentials. */
  async login(username: string, password: string, address: string): Promise<Caller | undefined> {
    if (this.throttle.isBanned(address)) {
      const minutes = Math.max(1, Math.round(this.banSeconds / 60));
      throw new ApiError(
        429,
        'too-many-failed-logins',
        titleOf(429),
        `too many failed logins from ${address}; it is banned for up to ${minutes} min ([api] max_failed_login, ban_time)`,
      );
    }
    const caller = await this.users.authenticate(username, password);
    if (caller) this.throttle.succeeded(address);
    else await this.throttle.failed(address, username);
    return caller;
  }

  /** The caller a token stands for; throws a 401 ApiError saying why not. */
  async callerOfToken(token: string): Promise<Caller> {
    let sub: string | undefined;
    let stamp = '';
    try {
      const { payload } = await jwtVerify(token, this.secret, {
        algorithms: [ALGORITHM],
        requiredClaims: ['exp', 'sub'],
      });
      sub = payload.sub;
      if (typeof payload[STAMP_CLAIM] === 'string') stamp = payload[STAMP_CLAIM];
    } catch (e) {
      if (e instanceof joseErrors.JWTExpired) throw unauthorized('the token has expired; log in again');
      throw unauthorized('the token is not valid');
    }
    const caller = sub === undefined ? undefined : await this.users.find(sub, stamp);
    if (!caller)
      throw unauthorized('the token names a user that no longer exists, or whose password has changed since');
    return caller;
  }

  /** The caller of an Authorization header (Bearer or Basic); throws 401 when missing or wrong. */
  async callerOfHeader(header: string | undefined, address: string): Promise<Caller> {
    if (!header)
      throw unauthorized(
        'authorization required: send "Authorization: Bearer <token>" (POST /api/v1/login gives one) or basic auth',
      );
    const [scheme, value = ''] = header.trim().split(/\s+/, 2);
    if (/^bearer$/i.test(scheme)) return this.callerOfToken(value);
    if (/^basic$/i.test(scheme)) {
      const pair = basicPair(value);
      const caller = pair && (await this.login(pair.username, pair.password, address));
      if (!caller) throw unauthorized('wrong username or password');
      return caller;
    }
    throw unauthorized(`the Authorization scheme "${scheme}" is not supported; use Bearer or Basic`);
  }

  /** Koa middleware: sets ctx.state.caller before any body is read. */
  require() {
    return async (ctx: Context, next: Next): Promise<void> => {
      ctx.state.caller = await this.callerOfHeader(ctx.get('authorization') || undefined, ctx.ip);
      await next();
    };
  }
}

export function basicPair(b64: string): { username: string; password: string } | undefined {
  const text = Buffer.from(b64, 'base64').toString('utf8');
  const i = text.indexOf(':');
  return i > 0 ? { username: text.slice(0, i), password: text.slice(i + 1) } : undefined;
}

export const callerOf = (ctx: Context): Caller => ctx.state.caller as Caller;
