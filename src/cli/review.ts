// `review` (issue 13): a person's decision on outputs held for review, for deployments without an admin UI.
//   review list                       the held tasks, oldest first
//   review approve <task_id>          completes the task: its result is served and shows in the owner's history
//   review reject <task_id> [reason]  the task stays failed, review_status rejected; the stored output is deleted
// It opens the configured database (DATABASE_URL, or the embedded one — which must not be serving at the time:
// PGlite is one process's) and the configured storage.
import { join } from 'node:path';
import { and, asc, eq, isNotNull, sql } from 'drizzle-orm';
import type { Config } from '../config';
import { embeddedPgSeed, openDatabase } from '../db/client';
import { migrate } from '../db/migrate';
import { migrations } from '../db/migrations.gen';
import { tasks } from '../db/schema';
import { resultLocation, TASK_ID } from '../modules/generation/service';
import { CHANNEL_EVENTS } from '../queue';
import { createStorage, type Storage } from '../storage';
import type { Db } from '../db/client';

export const REVIEW_USAGE = 'usage: review list | review approve <task_id> | review reject <task_id> [reason]';
const DEFAULT_REASON = '生成内容未通过人工审核';

/** The subcommand on the configured database and storage; returns the process exit code. */
export async function reviewCli(config: Config, args: string[], out: (line: string) => void): Promise<number> {
  if (!validArgs(args)) {
    out(REVIEW_USAGE);
    return 2;
  }
  const database = await openDatabase(
    config.databaseUrl ? { kind: 'postgres', url: config.databaseUrl } : { kind: 'pglite', dataDir: join(config.dataDir, 'pg'), seed: embeddedPgSeed(config.pgliteSeedFile) },
  );
  try {
    await migrate(database.db, migrations);
    return await reviewCommand({ db: database.db, storage: createStorage(config.storage, config.dataDir) }, args, out);
  } finally {
    await database.close();
  }
}

const validArgs = ([action, taskId]: string[]) =>
  action !== undefined && ['list', 'approve', 'reject'].includes(action) && (action === 'list' || TASK_ID.test(taskId ?? ''));

/** Runs the subcommand on `db` and `storage`; returns the exit code. `out` receives the lines to print. */
export async function reviewCommand(d: { db: Db; storage: Storage }, args: string[], out: (line: string) => void): Promise<number> {
  const [action, taskId, ...rest] = args;
  if (!validArgs(args)) {
    out(REVIEW_USAGE);
    return 2;
  }
  {
    const db = d.db;
    const held = and(eq(tasks.status, 'failed'), eq(tasks.reviewStatus, 'pending'), isNotNull(tasks.resultKey));
    if (action === 'list') {
      const rows = await db
        .select({ id: tasks.id, userId: tasks.userId, type: tasks.type, prompt: tasks.prompt, at: tasks.completedAt })
        .from(tasks)
        .where(held)
        .orderBy(asc(tasks.completedAt));
      for (const r of rows) out(`${r.id}\tuser ${r.userId}\t${r.type}\t${r.at?.toISOString() ?? ''}\t${r.prompt.replace(/\s+/g, ' ').slice(0, 80)}`);
      out(`${rows.length} held for review`);
      return 0;
    }
    const [task] = await db.select().from(tasks).where(and(eq(tasks.id, taskId!), held));
    if (!task) {
      out(`${taskId} is not held for review`);
      return 1;
    }
    if (action === 'approve') {
      const ext = task.resultKey!.split('.').pop()!;
      const { url } = resultLocation(task.id, ext);
      await db
        .update(tasks)
        .set({ status: 'completed', resultUrl: url, error: null, reviewStatus: 'approved', reviewMessage: null, progress: 100 })
        .where(and(eq(tasks.id, task.id), held));
      out(`${task.id} approved: ${url}`);
    } else {
      const reason = rest.join(' ').trim() || DEFAULT_REASON;
      await db.update(tasks).set({ error: reason, reviewStatus: 'rejected', reviewMessage: reason, resultKey: null, resultMime: null, resultSha256: null, resultSize: null }).where(and(eq(tasks.id, task.id), held));
      await d.storage.delete(task.resultKey!);
      out(`${task.id} rejected`);
    }
    await db.execute(sql`select pg_notify(${CHANNEL_EVENTS}, ${task.id})`); // open event streams show the change
    return 0;
  }
}
