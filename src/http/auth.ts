import { and, eq, sql } from 'drizzle-orm';
import { Elysia } from 'elysia';
import type { Db } from '../db/client';
import { sessions, users } from '../db/schema';
import { unauthorized } from './envelope';
import { readCacheOf } from './read-cache';
import type { TokenClaims, Tokens } from './tokens';

export interface AuthUser {
  id: number;
  /** the session of the token that made the request */
  sessionId: string;
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

const lookups = new WeakMap<Db, ReturnType<typeof prepareLookup>>();

/** One indexed lookup (the session's primary key): the session's expiry, only while it is alive and its user exists. */
function prepareLookup(db: Db) {
  return db
    .select({ expiresAt: sessions.expiresAt })
    .from(sessions)
    .innerJoin(users, eq(users.id, sessions.userId))
    .where(
      and(
        eq(sessions.id, sql.placeholder('sid')),
        eq(sessions.userId, sql.placeholder('uid')),
        sql`${sessions.expiresAt} > now()`,
      ),
    )
    .prepare('auth_session');
}

/**
 * The user the claims belong to, or a 401 AppError when the user is gone or the session was ended or expired. A
 * session the read cache knows alive (http/read-cache.ts: forgotten as soon as the database says it ended, on any
 * instance; its expiry checked on every use) costs no query; otherwise the lookup runs and its answer is remembered.
 */
export async function userOf(db: Db, claims: TokenClaims): Promise<AuthUser> {
  const cache = readCacheOf(db);
  if (!cache?.sessionAlive(claims.sessionId, claims.userId)) {
    const since = cache?.epoch() ?? 0;
    let lookup = lookups.get(db);
    if (!lookup) lookups.set(db, (lookup = prepareLookup(db)));
    const [session] = await lookup.execute({ sid: claims.sessionId, uid: claims.userId });
    if (!session) throw unauthorized();
    cache?.rememberSession(claims.sessionId, claims.userId, session.expiresAt, since);
  }
  touchSession(db, claims.sessionId);
  return { id: claims.userId, sessionId: claims.sessionId };
}

/** How often a session's `last_used_at` is written, at most, per instance. */
export const TOUCH_INTERVAL_MS = 60_000;
const touched = new WeakMap<Db, Map<string, number>>();

/**
 * Records that a session was used, at most once a minute per session (a client polls every 2 s; a write per
 * poll would cost more than the poll). Best effort, off the request path: a failed write only leaves
 * `last_used_at` a little older.
 */
export function touchSession(db: Db, sessionId: string) {
  let seen = touched.get(db);
  if (!seen) touched.set(db, (seen = new Map()));
  const now = Date.now();
  const last = seen.get(sessionId);
  if (last !== undefined && now - last < TOUCH_INTERVAL_MS) return;
  if (seen.size >= 10_000) {
    for (const [id, at] of seen) if (now - at >= TOUCH_INTERVAL_MS) seen.delete(id);
  }
  seen.set(sessionId, now);
  db.update(sessions)
    .set({ lastUsedAt: new Date(now) })
    .where(eq(sessions.id, sessionId))
    .then(
      () => {},
      () => seen.delete(sessionId),
    );
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
     * revocation itself (the session), e.g. inside the one query it runs anyway. For hot routes.
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
