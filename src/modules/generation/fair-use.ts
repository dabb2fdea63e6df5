// Fair use (issue 14): how many tasks one user may have running (USER_MAX_ACTIVE_TASKS) and create per UTC day
// (USER_DAILY_TASKS). Both are business outcomes that an ordinary user meets, so they answer HTTP 200 with code 429,
// a Retry-After header and a message that says when to try again (DECISIONS §1).
import { and, count, eq, gte, sql } from 'drizzle-orm';
import { ConfigError } from '../../config-error';
import type { Db, Tx } from '../../db/client';
import { tasks } from '../../db/schema';
import { tooMany } from '../../http/envelope';

export interface FairUseSettings {
  /** tasks one user may have in `processing` (queued or running); 0 = no limit */
  maxActiveTasks: number;
  /** tasks one user may create per UTC day; 0 = no limit */
  dailyTasks: number;
}

/** Retry-After when the active-task limit is met: a task usually ends within this many seconds. */
export const ACTIVE_RETRY_AFTER_S = 30;

const DAY_MS = 86_400_000;

function readLimit(env: Record<string, string | undefined>, name: string, fallback: number): number {
  const raw = env[name]?.trim();
  if (raw === undefined || raw === '') return fallback;
  const n = /^\d+$/.test(raw) ? Number(raw) : NaN;
  if (!Number.isSafeInteger(n) || n > 1_000_000) throw new ConfigError(`${name}=${raw} must be an integer from 0 (no limit) to 1000000`);
  return n;
}

/** USER_MAX_ACTIVE_TASKS (default 4) and USER_DAILY_TASKS (default: no limit); 0 or empty = no limit. */
export function readFairUseSettings(env: Record<string, string | undefined>): FairUseSettings {
  return { maxActiveTasks: readLimit(env, 'USER_MAX_ACTIVE_TASKS', 4), dailyTasks: readLimit(env, 'USER_DAILY_TASKS', 0) };
}

/** Start of the UTC day of `now` (the daily quota's boundary). */
export const utcDayStart = (now: Date) => new Date(Math.floor(now.getTime() / DAY_MS) * DAY_MS);

/** "5 小时 12 分钟" / "12 分钟" (rounded up, at least 1 minute). */
export function waitText(seconds: number): string {
  const minutes = Math.max(1, Math.ceil(seconds / 60));
  const h = Math.floor(minutes / 60);
  const m = minutes % 60;
  return h ? `${h} 小时${m ? ` ${m} 分钟` : ''}` : `${m} 分钟`;
}

export const msgActiveLimit = (max: number) => `进行中的任务已达上限（${max} 个），请等待任务完成后再试`;
export const msgDailyLimit = (max: number, seconds: number) =>
  `今日生成次数已达上限（${max} 次），请 ${waitText(seconds)}后再试（每日额度于 UTC 0 点即北京时间 8 点重置）`;

/** Namespace of the per-user task locks (two-key advisory locks: this, user id); the favorites use another. */
const TASKS_LOCK = 0x7461736b; // 'task'

/**
 * Serialises the creation of one user's tasks until the transaction ends, so that two requests at once cannot
 * both pass a limit (or both store one Idempotency-Key): the second counts what the first committed.
 */
export async function lockUserTasks(tx: Tx, userId: number) {
  await tx.execute(sql`select pg_advisory_xact_lock(${TASKS_LOCK}, ${userId})`);
}

/** Throws code 429 (HTTP 200, Retry-After) when the user may not create another task now. */
export async function checkTaskLimits(db: Db | Tx, s: FairUseSettings, userId: number, now: Date) {
  if (s.maxActiveTasks > 0) {
    const [row] = await db.select({ n: count() }).from(tasks).where(and(eq(tasks.userId, userId), eq(tasks.status, 'processing')));
    if (row.n >= s.maxActiveTasks) throw tooMany(ACTIVE_RETRY_AFTER_S, msgActiveLimit(s.maxActiveTasks), 200);
  }
  if (s.dailyTasks > 0) {
    const start = utcDayStart(now);
    const [row] = await db.select({ n: count() }).from(tasks).where(and(eq(tasks.userId, userId), gte(tasks.createdAt, start)));
    if (row.n >= s.dailyTasks) {
      const seconds = Math.ceil((start.getTime() + DAY_MS - now.getTime()) / 1000);
      throw tooMany(seconds, msgDailyLimit(s.dailyTasks, seconds), 200);
    }
  }
}
