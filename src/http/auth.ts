import { eq } from 'drizzle-orm';
import { Elysia } from 'elysia';
import type { Db } from '../db/client';
import { users } from '../db/schema';
import { unauthorized } from './envelope';
import type { TokenClaims, Tokens } from './tokens';

export interface AuthUser {
  id: number;
  account: string;
  email: string;
  tokenVersion: number;
}

/** The claims of a well-formed, correctly signed, unexpired bearer token, or a 401 AppError. Not yet checked for revocation. */
export async function verifyBearer(tokens: Tokens, header: string | undefined): Promise<TokenClaims> {
  const m = header ? /^Bearer\s+(\S+)\s*$/i.exec(header) : null;
  if (!m) throw unauthorized();
  const claims = await tokens.verify(m[1]);
  if (!claims) throw unauthorized();
  return claims;
}

/** The user of a bearer header, or a 401 AppError (missing, malformed, bad signature, expired, revoked). */
export async function authenticate(db: Db, tokens: Tokens, header: string | undefined): Promise<AuthUser> {
  return userOf(db, await verifyBearer(tokens, header));
}

/** The user the claims belong to, or a 401 AppError when the user is gone or the token was revoked. */
export async function userOf(db: Db, claims: TokenClaims): Promise<AuthUser> {
  const [user] = await db
    .select({ id: users.id, account: users.account, email: users.email, tokenVersion: users.tokenVersion })
    .from(users)
    .where(eq(users.id, claims.userId));
  if (!user || user.tokenVersion !== claims.version) throw unauthorized();
  return user;
}

/** OpenAPI: marks a route as needing the bearer token. */
export const bearer = [{ bearerAuth: [] as string[] }];

const authenticated = new WeakMap<Request, AuthUser>();
const verified = new WeakMap<Request, TokenClaims>();

/**
 * `{ auth: true }` on a route resolves `user` or answers HTTP 401. The token is checked in the transform
 * phase, before the body and params are validated, so a request without a valid token is always 401.
 */
export const authGuard = (db: Db, tokens: Tokens) =>
  new Elysia({ name: 'auth-guard', seed: tokens }).macro({
    auth: {
      async transform({ request }) {
        authenticated.set(request, await authenticate(db, tokens, request.headers.get('authorization') ?? undefined));
      },
      resolve({ request }) {
        const user = authenticated.get(request);
        if (!user) throw unauthorized();
        return { user };
      },
    },
    /**
     * `{ claims: true }`: like `auth`, but only the signature and expiry are checked here; the route MUST check
     * revocation itself (the token version), e.g. inside the one query it runs anyway. For hot routes.
     */
    claims: {
      async transform({ request }) {
        verified.set(request, await verifyBearer(tokens, request.headers.get('authorization') ?? undefined));
      },
      resolve({ request }) {
        const claims = verified.get(request);
        if (!claims) throw unauthorized();
        return { claims };
      },
    },
  });
