import { eq } from 'drizzle-orm';
import { Elysia } from 'elysia';
import type { Db } from '../db/client';
import { users } from '../db/schema';
import { unauthorized } from './envelope';
import type { Tokens } from './tokens';

export interface AuthUser {
  id: number;
  account: string;
  email: string;
  tokenVersion: number;
}

/** The user of a bearer header, or a 401 AppError (missing, malformed, bad signature, expired, revoked). */
export async function authenticate(db: Db, tokens: Tokens, header: string | undefined): Promise<AuthUser> {
  const m = header ? /^Bearer\s+(\S+)\s*$/i.exec(header) : null;
  if (!m) throw unauthorized();
  const claims = await tokens.verify(m[1]);
  if (!claims) throw unauthorized();
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
  });
