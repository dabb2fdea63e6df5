// Retention (issue 12): files nobody can see any more are removed from storage after a grace period.
//  - the result file of a history record its owner deleted (hid) RETENTION_DAYS ago or more;
//  - an uploaded reference image that no task references, uploaded RETENTION_DAYS ago or more.
// A file still referenced is never removed: a result belongs to exactly one task (its key is the task id), and an
// upload is kept while any task's reference_files names it. One instance runs it at a time (an advisory lock);
// it is idempotent (a result row is cleared only after its object is gone, an upload's row is deleted first and
// its object right after, and deleting a missing object is not an error), so an interrupted run leaves at worst
// an orphan object of an upload, never a row without its file.
import { sql } from 'drizzle-orm';
import type { Clock } from '../clock';
import { type Database, rowsOf } from '../db/client';
import type { Logger } from '../logger';
import type { Storage } from '../storage/local';

/** pg_try_advisory_lock key of the retention job (one instance at a time). */
const RETENTION_LOCK = 7305511002;
const BATCH = 500;

export interface RetentionResult {
  results: number;
  uploads: number;
  /** false when another instance held the lock */
  ran: boolean;
}

/** One pass; `days` = 0 keeps everything. */
export async function purgeExpiredFiles(
  database: Pick<Database, 'db' | 'withLock'>,
  storage: Storage,
  clock: Clock,
  days: number,
): Promise<RetentionResult> {
  if (days <= 0) return { results: 0, uploads: 0, ran: false };
  const { db } = database;
  const cutoff = new Date(clock.now().getTime() - days * 86_400_000).toISOString();
  const done = await database.withLock(RETENTION_LOCK, async () => {
    let results = 0;
    for (;;) {
      const rows = rowsOf<{ id: string; key: string }>(
        await db.execute(sql`
          select id, result_key as key from tasks
          where hidden and hidden_at < ${cutoff}::timestamptz and result_key is not null
          order by hidden_at limit ${BATCH}`),
      );
      if (rows.length === 0) break;
      for (const r of rows) await storage.delete(r.key);
      const ids = sql.join(rows.map((r) => sql`${r.id}`), sql`, `);
      await db.execute(sql`update tasks set result_key = null where id in (${ids})`);
      results += rows.length;
    }
    let uploads = 0;
    for (;;) {
      // an upload referenced by any task (even a hidden one, until that record's own purge) is kept
      const rows = rowsOf<{ id: string; key: string }>(
        await db.execute(sql`
          select f.id, f.key from files f
          where f.created_at < ${cutoff}::timestamptz
            and not exists (select 1 from tasks t where t.reference_files ? f.id)
          order by f.created_at limit ${BATCH}`),
      );
      if (rows.length === 0) break;
      // the row goes first: a task created meanwhile that names it then fails validation instead of finding no file
      const ids = sql.join(rows.map((r) => sql`${r.id}`), sql`, `);
      const gone = rowsOf<{ key: string }>(
        await db.execute(sql`
          delete from files f where f.id in (${ids})
            and not exists (select 1 from tasks t where t.reference_files ? f.id)
          returning f.key`),
      );
      for (const r of gone) await storage.delete(r.key);
      uploads += gone.length;
      if (gone.length < rows.length) break; // referenced meanwhile: leave the rest for the next run
    }
    return { results, uploads, ran: true };
  });
  return done ?? { results: 0, uploads: 0, ran: false };
}

/** Runs purgeExpiredFiles now and every `intervalMs`; returns a stop function. */
export function startRetention(
  database: Pick<Database, 'db' | 'withLock'>,
  storage: Storage,
  clock: Clock,
  log: Logger,
  o: { days: number; intervalMs: number },
) {
  if (o.days <= 0) return () => {};
  let running = false; // a slow run is not overlapped by the next tick (the advisory lock guards other instances)
  const run = async () => {
    if (running) return;
    running = true;
    try {
      const r = await purgeExpiredFiles(database, storage, clock, o.days);
      if (r.results || r.uploads) log.info(`retention: removed ${r.results} result file(s) of deleted records and ${r.uploads} unused upload(s) older than ${o.days} days`);
    } catch (e) {
      log.error('retention failed', e);
    } finally {
      running = false;
    }
  };
  void run();
  const timer = setInterval(run, o.intervalMs);
  timer.unref?.();
  return () => clearInterval(timer);
}
