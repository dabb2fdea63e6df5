import { eq, sql } from 'drizzle-orm';
import type { Db } from '../../db/client';
import { loginThrottle } from '../../db/schema';
import { tooMany } from '../../http/envelope';

/** Login throttling (issue 9): failures per account name and per client IP, kept in the database. */
export interface LoginThrottleConfig {
  /** failures of one account name within the window before it is locked */
  accountMax: number;
  /** failures from one client IP within the window before it is locked */
  ipMax: number;
  /** the counting window, from a key's first failure */
  windowMs: number;
  /** the first lock; each further failure doubles it, up to the window */
  lockMs: number;
}

export const throttleKeys = (account: string, ip: string) => ({
  account: `account:${account.toLowerCase()}`,
  ip: `ip:${ip}`,
});

/**
 * Admits one login attempt for `key`, counting it as a failure in advance (so that parallel guesses are counted
 * before any password is checked), or returns the seconds to wait when the key is locked. The attempt that
 * reaches the limit sets the lock in the same statement; after a lock runs out one more attempt is admitted, and
 * its failure locks the key twice as long.
 */
/** A timestamp parameter inside raw SQL (postgres.js cannot bind a Date there without a type). */
const at = (d: Date) => sql`${d.toISOString()}::timestamptz`;

async function admit(db: Db, key: string, max: number, c: LoginThrottleConfig, now: Date): Promise<number> {
  const cutoff = at(new Date(now.getTime() - c.windowMs));
  const count = sql`case when ${loginThrottle.windowStart} < ${cutoff} then 1 else ${loginThrottle.failures} + 1 end`;
  const lockFor = (n: unknown) =>
    sql`${at(now)} + make_interval(secs => least(${c.windowMs / 1000}::float8, ${c.lockMs / 1000}::float8 * power(2, greatest((${n})::int - ${max}::int, 0))))`;
  const admitted = await db
    .insert(loginThrottle)
    .values({ key, failures: 1, windowStart: now, lockedUntil: max <= 1 ? sql`${lockFor(1)}` : null })
    .onConflictDoUpdate({
      target: loginThrottle.key,
      set: {
        failures: count,
        windowStart: sql`case when ${loginThrottle.windowStart} < ${cutoff} then ${at(now)} else ${loginThrottle.windowStart} end`,
        lockedUntil: sql`case when ${count} >= ${max} then ${lockFor(count)} else null end`,
      },
      setWhere: sql`${loginThrottle.lockedUntil} is null or ${loginThrottle.lockedUntil} <= ${at(now)}`,
    })
    .returning({ failures: loginThrottle.failures });
  if (admitted.length) return 0;
  const [row] = await db.select({ until: loginThrottle.lockedUntil }).from(loginThrottle).where(eq(loginThrottle.key, key));
  return row?.until ? Math.max(1, Math.ceil((row.until.getTime() - now.getTime()) / 1000)) : 1;
}

/** Admits a login attempt for both keys or throws HTTP 429 (code 429, Retry-After) with the wait. */
export async function admitLogin(db: Db, keys: { account: string; ip: string }, c: LoginThrottleConfig, now: Date) {
  const waitIp = await admit(db, keys.ip, c.ipMax, c, now);
  const wait = waitIp || (await admit(db, keys.account, c.accountMax, c, now));
  if (wait) throw tooMany(wait, `登录尝试过于频繁，请 ${wait} 秒后再试`);
}

/** A successful login: the account's failures are forgotten and the attempt no longer counts against the IP. */
export async function loginSucceeded(db: Db, keys: { account: string; ip: string }) {
  await db.delete(loginThrottle).where(eq(loginThrottle.key, keys.account));
  await db
    .update(loginThrottle)
    .set({ failures: sql`greatest(${loginThrottle.failures} - 1, 0)` })
    .where(eq(loginThrottle.key, keys.ip));
}

/** Deletes counters whose window and lock are both over; returns how many. */
export async function purgeLoginThrottle(db: Db, now: Date, windowMs: number): Promise<number> {
  const cutoff = at(new Date(now.getTime() - windowMs));
  const gone = await db
    .delete(loginThrottle)
    .where(sql`${loginThrottle.windowStart} < ${cutoff} and (${loginThrottle.lockedUntil} is null or ${loginThrottle.lockedUntil} < ${at(now)})`)
    .returning({ key: loginThrottle.key });
  return gone.length;
}
