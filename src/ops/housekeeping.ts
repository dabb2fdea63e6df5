import type { Clock } from '../clock';
import type { Db } from '../db/client';
import type { Logger } from '../logger';
import { purgeRateLimits } from '../http/rate-limit';
import { purgeIdempotencyKeys } from '../http/idempotency';
import { purgeLoginThrottle } from '../modules/auth/throttle';
import { purgeExpiredSessions } from '../modules/sessions/service';

/**
 * One pass: expired sessions, stale login counters, ended rate-limit windows and Idempotency-Key answers older
 * than 24 h are deleted, so no table grows without bound.
 */
export async function housekeep(db: Db, clock: Clock, loginWindowMs: number) {
  const now = clock.now();
  const sessions = await purgeExpiredSessions(db, now);
  const counters = (await purgeLoginThrottle(db, now, loginWindowMs)) + (await purgeRateLimits(db, now));
  const idempotencyKeys = await purgeIdempotencyKeys(db, now);
  return { sessions, counters, idempotencyKeys };
}

/** Runs housekeep() now and every `intervalMs` (idempotent, so several instances may run it); returns a stop function. */
export function startHousekeeping(db: Db, clock: Clock, log: Logger, o: { intervalMs: number; loginWindowMs: number }) {
  const run = () =>
    housekeep(db, clock, o.loginWindowMs).then(
      ({ sessions, counters, idempotencyKeys }) => {
        if (sessions || counters || idempotencyKeys) {
          log.info(`housekeeping: ${sessions} expired session(s), ${counters} login/rate-limit counter(s), ${idempotencyKeys} idempotency key(s) deleted`);
        }
      },
      (e) => log.error('housekeeping failed', e),
    );
  void run();
  const timer = setInterval(run, o.intervalMs);
  timer.unref?.();
  return () => clearInterval(timer);
}
