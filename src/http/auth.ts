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

/** `{ auth: true }` on a route resolves `user` or answers HTTP 401. */
export const authGuard = (db: Db, tokens: Tokens) =>
  new Elysia({ name: 'auth-guard', seed: tokens }).macro({
    auth: {
      async resolve({ headers }) {
        return { user: await authenticate(db, tokens, headers.authorization) };
      },
    },
  });
