// Sessions known to be alive, for the poll of the embedded default only (issue 10 / bench: the embedded poll pays
// about 0.3 ms per query on the HTTP thread, and the session join made it ~7% slower than the token-version check
// it replaced). The embedded database serves exactly one process, and every session is ended in this process
// (logout, password change or reset, DELETE /user/sessions/{id}, housekeeping), each of which calls
// forgetSessions() with the ids it deleted: so the cache is exact, not a time-based guess. With PostgreSQL
// (several instances) nothing is cached: the poll checks the session in its one query.
//
// Race: a poll that read a session as alive just before another request ended it must not put it back in the
// cache afterwards. Every forget bumps an epoch; a poll remembers a session only if no forget happened since
// its query started.

interface Alive {
  userId: number;
  /** epoch ms; the session's expiry as read (a later renewal only makes this conservative) */
  expiresAt: number;
}

const alive = new Map<string, Alive>();
let epoch = 0;
const MAX = 50_000;

/** The current epoch: read it before the query whose result may be remembered. */
export const sessionEpoch = () => epoch;

/** True when the session is known alive for that user (and not expired). */
export function knownAlive(sessionId: string, userId: number, now = Date.now()): boolean {
  const a = alive.get(sessionId);
  if (!a) return false;
  if (a.userId !== userId || a.expiresAt <= now) {
    alive.delete(sessionId);
    return false;
  }
  return true;
}

/** Remembers a session read as alive by a query that started at `since` (an epoch), unless a forget came since. */
export function rememberAlive(sessionId: string, userId: number, expiresAt: Date, since: number) {
  if (since !== epoch) return;
  if (alive.size >= MAX) alive.clear();
  alive.set(sessionId, { userId, expiresAt: expiresAt.getTime() });
}

/** Sessions were deleted: they are not alive any more (call it as soon as they are deleted). */
export function forgetSessions(ids: readonly string[]) {
  epoch++;
  for (const id of ids) alive.delete(id);
}
