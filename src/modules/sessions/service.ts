import { randomBytes } from 'node:crypto';
import { and, asc, eq, lt, ne } from 'drizzle-orm';
import type { Clock } from '../../clock';
import type { Db, Tx } from '../../db/client';
import { sessions } from '../../db/schema';
import type { AuthUser } from '../../http/auth';
import { badRequest, isoUtc } from '../../http/envelope';
import { forgetSessions } from '../../http/read-cache';
import type { Tokens } from '../../http/tokens';

export interface SessionDeps {
  db: Db;
  tokens: Tokens;
  clock: Clock;
}

/** Where a login came from, as shown in the session list. */
export interface Origin {
  userAgent: string | null;
  ip: string | null;
}

/** Printable text only, at most `max` characters (header values are the client's to choose). */
const clean = (s: string | null, max: number) => {
  const v = s?.replace(/[^\x20-\x7e\u00a0-\uffff]/g, '').trim().slice(0, max);
  return v ? v : null;
};

/** Starts a session for a user who just proved their password, and returns its first token. */
export async function startSession(d: SessionDeps, db: Db | Tx, userId: number, origin: Origin) {
  const id = randomBytes(16).toString('base64url');
  const { token, expiresAt } = await d.tokens.issue({ userId, sessionId: id });
  const now = d.clock.now();
  const created = await db
    .insert(sessions)
    .values({
      id,
      userId,
      createdAt: now,
      lastUsedAt: now,
      expiresAt,
      userAgent: clean(origin.userAgent, 512),
      ip: clean(origin.ip, 64),
    })
    .returning({ id: sessions.id });
  if (created.length !== 1) throw new Error('session was not stored');
  return { token, expiresAt, sessionId: id };
}

/** A fresh token for an existing session (its expiry moves with the new token). */
export async function renewSession(d: SessionDeps, db: Db | Tx, userId: number, sessionId: string) {
  const { token, expiresAt } = await d.tokens.issue({ userId, sessionId });
  await db.update(sessions).set({ expiresAt }).where(and(eq(sessions.id, sessionId), eq(sessions.userId, userId)));
  return { token, expiresAt };
}

/** Ends every session of a user (password reset), or every one but `keep` (password change, DECISIONS §2). */
export async function endSessions(db: Db | Tx, userId: number, keep?: string) {
  const gone = await db
    .delete(sessions)
    .where(keep ? and(eq(sessions.userId, userId), ne(sessions.id, keep)) : eq(sessions.userId, userId))
    .returning({ id: sessions.id });
  forgetSessions(gone.map((g) => g.id));
}

/** Ends one of the caller's sessions; another user's or an unknown id is code 400. */
export async function endSession(d: SessionDeps, user: AuthUser, sessionId: string) {
  const ended = await d.db
    .delete(sessions)
    .where(and(eq(sessions.id, sessionId), eq(sessions.userId, user.id)))
    .returning({ id: sessions.id });
  forgetSessions(ended.map((g) => g.id));
  if (ended.length === 0) throw badRequest('会话不存在');
  return { id: sessionId, current: sessionId === user.sessionId };
}

export async function listSessions(d: SessionDeps, user: AuthUser) {
  const rows = await d.db
    .select()
    .from(sessions)
    .where(eq(sessions.userId, user.id))
    .orderBy(asc(sessions.createdAt), asc(sessions.id));
  const now = d.clock.now().getTime();
  return rows
    .filter((s) => s.expiresAt.getTime() > now)
    .map((s) => ({
      id: s.id,
      current: s.id === user.sessionId,
      created_at: isoUtc(s.createdAt),
      last_used_at: isoUtc(s.lastUsedAt),
      expires_at: isoUtc(s.expiresAt),
      user_agent: s.userAgent,
      ip: s.ip,
    }));
}

/** Deletes sessions that expired before `now`; returns how many. */
export async function purgeExpiredSessions(db: Db, now: Date): Promise<number> {
  const gone = await db.delete(sessions).where(lt(sessions.expiresAt, now)).returning({ id: sessions.id });
  forgetSessions(gone.map((g) => g.id));
  return gone.length;
}
