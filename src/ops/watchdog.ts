import type { Database } from '../db/client';
import type { Logger } from '../logger';
import { workerEntry } from '../worker-entry';

/** slots of the watchdog's shared memory */
export const BEAT = 0;
export const STOP = 1;

/** the one message the watchdog's thread gets */
export interface WatchdogStart {
  timeoutMs: number;
  /** how often it looks at the counter (ms) */
  checkMs: number;
  shared: Int32Array;
}

/**
 * Starts the event-loop watchdog: a thread that kills the process when this thread sends no heartbeat for
 * `timeoutMs` (issue 9). The heartbeat is a timer on this thread, so it stops exactly when the loop is blocked.
 * Returns a function that stops it.
 *
 * The heartbeat is a counter in shared memory, not a message, and the watchdog's thread sleeps in `Atomics.wait`
 * between its checks (as often as the counter moves: once a second, or every quarter of `timeoutMs` when that is
 * shorter, 100 ms at least): it never runs an event loop and allocates nothing (issue 15: a message every second and a 250 ms timer kept that thread's event loop and the
 * runtime's once-a-second collection of its heap going: 5.6 wake-ups a second of an idle server, 2 now).
 */
export function startWatchdog(timeoutMs: number): () => void {
  const shared = new Int32Array(new SharedArrayBuffer(8));
  const worker = new Worker(workerEntry('src/ops/watchdog-worker.ts'), { name: 'aigc-watchdog' });
  // the watchdog looks at the counter as often as it moves
  const beatMs = Math.max(100, Math.min(1000, Math.floor(timeoutMs / 4)));
  worker.postMessage({ timeoutMs, checkMs: beatMs, shared } satisfies WatchdogStart);
  const timer = setInterval(() => Atomics.add(shared, BEAT, 1), beatMs);
  timer.unref?.();
  worker.unref?.();
  return () => {
    clearInterval(timer);
    // wakes the thread from its wait; it returns and the worker ends
    Atomics.store(shared, STOP, 1);
    Atomics.notify(shared, STOP);
    worker.terminate();
  };
}

export interface DbProbe {
  /** ok, or why the database is not ready; never waits longer than the stall limit */
  check(): Promise<{ ok: true } | { ok: false; reason: 'stalled' | 'error' }>;
}

/**
 * Readiness of the database with a time bound: one `select 1` at a time; a probe still pending after `stallMs`
 * means the database (or the queue in front of it: PGlite runs one statement at a time) is stuck. That is logged
 * once per stall and reported at once to every caller, without waiting again.
 */
export function createDbProbe(database: Pick<Database, 'ping'>, log: Logger, stallMs: number): DbProbe {
  let pending: { started: number; done: Promise<boolean>; logged: boolean } | null = null;
  const start = () => {
    const started = Date.now();
    const probe = {
      started,
      logged: false,
      done: database.ping().then(
        () => true,
        (e) => {
          log.error('readiness: the database check failed', e);
          return false;
        },
      ),
    };
    probe.done.then(() => {
      if (probe.logged) log.warn(`database answers again after ${Math.round((Date.now() - started) / 1000)} s`);
      if (pending === probe) pending = null;
    });
    return probe;
  };
  return {
    async check() {
      const probe = (pending ??= start());
      const left = stallMs - (Date.now() - probe.started);
      let timer: ReturnType<typeof setTimeout> | undefined;
      const result = await Promise.race([
        probe.done,
        new Promise<'stalled'>((r) => (timer = setTimeout(() => r('stalled'), Math.max(0, left)))),
      ]);
      clearTimeout(timer);
      if (result === 'stalled') {
        if (!probe.logged) {
          probe.logged = true;
          log.error(`database call stalled: no answer for ${Math.round((Date.now() - probe.started) / 1000)} s (DB_STALL_TIMEOUT)`);
        }
        return { ok: false, reason: 'stalled' };
      }
      return result ? { ok: true } : { ok: false, reason: 'error' };
    },
  };
}
