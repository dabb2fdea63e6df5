import { lt, sql } from 'drizzle-orm';
import type { Clock } from '../clock';
import type { Db } from '../db/client';
import { rateLimits } from '../db/schema';
import { tooMany } from './envelope';

/** A timestamp parameter inside raw SQL (postgres.js cannot bind a Date there without a type). */
const at = (d: Date) => sql`${d.toISOString()}::timestamptz`;

/**
 * A fixed-window counter per key, kept in the database (table `rate_limits`), so that the limit holds across
 * every instance behind a load balancer: one upsert per hit counts it atomically and returns the count.
 * `scope` names the limit (it prefixes the keys).
 */
export function createRateLimiter(db: Db, scope: string, limit: number, windowMs: number, clock: Clock) {
  return {
    /** counts one hit for key; throws HTTP 429 (code 429, Retry-After) past the limit */
    async hit(key: string) {
      const now = clock.now();
      const fresh = sql`${rateLimits.resetAt} <= ${at(now)}`;
      const [row] = await db
        .insert(rateLimits)
        .values({ key: `${scope}:${key}`, hits: 1, resetAt: new Date(now.getTime() + windowMs) })
        .onConflictDoUpdate({
          target: rateLimits.key,
          set: {
            hits: sql`case when ${fresh} then 1 else ${rateLimits.hits} + 1 end`,
            resetAt: sql`case when ${fresh} then ${at(new Date(now.getTime() + windowMs))} else ${rateLimits.resetAt} end`,
          },
        })
        .returning({ hits: rateLimits.hits, resetAt: rateLimits.resetAt });
      if (row.hits > limit) throw tooMany((row.resetAt.getTime() - now.getTime()) / 1000);
    },
  };
}

/** Deletes counters whose window is over; returns how many. */
export async function purgeRateLimits(db: Db, now: Date): Promise<number> {
  const gone = await db.delete(rateLimits).where(lt(rateLimits.resetAt, now)).returning({ key: rateLimits.key });
  return gone.length;
}

interface IpSource {
  requestIP(req: Request): { address: string } | null;
}

export function clientIp(request: Request, server: IpSource | null | undefined, trustProxy: boolean): string {
  if (trustProxy) {
    const fwd = request.headers.get('x-forwarded-for');
    if (fwd) return fwd.split(',')[0].trim();
  }
  return server?.requestIP(request)?.address ?? 'unknown';
}
