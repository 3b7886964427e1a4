/**
 * Who a user is: a connect hook that verifies HS256 JSON Web Tokens (with `jose`) and makes the token's `sub`
 * the socket id (so `user:<sub>` is that user's and `server.disconnect(sub)` closes their sockets). A shared
 * token, when configured, keeps working alongside: it connects without a user.
 */
import { jwtVerify } from 'jose';
import type { ConnectHook, ConnectResult } from '../../server/options.ts';
import { tokenMatches } from '../../server/token-check.ts';
import { USER_ID } from '../types.ts';

export interface JwtConnectOptions {
  /** The HS256 secret (at least 32 bytes, as RFC 7518 requires of an HS256 key). */
  secret: string;
  /** A shared token also accepted (connects with no user id); omitted: only valid JWTs connect. */
  token?: string;
  /** Expected `iss` / `aud` claims, when the tokens carry them. */
  issuer?: string;
  audience?: string;
  /** Leeway for `exp` / `nbf`, seconds. Default 5. */
  clockToleranceSec?: number;
}

/** The minimum HS256 key length in bytes (RFC 7518 section 3.2). */
export const MIN_JWT_SECRET_BYTES = 32;

export function jwtConnect(options: JwtConnectOptions): ConnectHook {
  const key = new TextEncoder().encode(options.secret);
  if (key.byteLength < MIN_JWT_SECRET_BYTES) throw new RangeError(`the JWT secret must be at least ${MIN_JWT_SECRET_BYTES} bytes for HS256`);
  const verifyOptions = {
    algorithms: ['HS256'],
    issuer: options.issuer,
    audience: options.audience,
    clockTolerance: options.clockToleranceSec ?? 5,
  };
  return async ({ params, authToken }): Promise<ConnectResult> => {
    const presented = params.token ?? authToken ?? undefined;
    if (presented === undefined) return false;
    if (options.token !== undefined && tokenMatches(options.token, presented)) return true;
    try {
      const { payload } = await jwtVerify(presented, key, verifyOptions);
      if (typeof payload.sub !== 'string' || !USER_ID.test(payload.sub)) return false;
      return { id: payload.sub, assigns: { user_id: payload.sub } };
    } catch {
      return false;
    }
  };
}
