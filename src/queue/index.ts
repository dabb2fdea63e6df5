// The task queue: the `tasks` table, one SQL operation per function. Several instances share it.
//
// Ownership: a claim increments `attempts`, and that number is the claim's identity. Heartbeats, progress,
// the provider's job state and completion all name it and change nothing once the task has been claimed again
// (its lease ran out and another instance took it) or ended (canceled): a task that two instances both ran
// is completed once, and a provider job saved by one claim is resumed, never submitted twice, by the next.
import { and, asc, eq, inArray, isNotNull, isNull, lt, or, sql } from 'drizzle-orm';
import type { Db } from '../db/client';
import { tasks } from '../db/schema';
import type { TaskType } from '../tasks';

/**
 * The NOTIFY channels: new work (every instance looks), a cancel (payload: the task id), and a change of a task's
 * state that its live event streams show (payload: the task id; see src/modules/generation/events.ts).
 */
export const CHANNEL_WORK = 'aigc_tasks';
export const CHANNEL_CANCEL = 'aigc_cancel';
export const CHANNEL_EVENTS = 'aigc_task_events';

/**
 * Put in the RETURNING list of an UPDATE of tasks: one notification per row the statement changed, sent by the
 * statement itself (no extra round trip) and delivered when it commits, so a listener never hears of a change
 * that did not happen.
 */
const announce = { announced: sql<string>`pg_notify(${CHANNEL_EVENTS}, ${tasks.id})` };

export interface ClaimedTask {
  id: string;
  userId: number;
  type: TaskType;
  prompt: string;
  parameters: Record<string, unknown>;
  referenceFiles: string[];
  /** this claim's number (ownership) */
  attempt: number;
  /** the provider that ran an earlier claim, and its saved job state (resume instead of submitting again) */
  provider: string | null;
  providerJob: unknown;
  /** the prompt's review asked for a person to look at the output before it is shown (it is held) */
  reviewRequired: boolean;
  createdAt: Date;
}

/** A claim as (task id, attempt). */
export interface Owned {
  id: string;
  attempt: number;
}

const owned = (o: Owned) => and(eq(tasks.id, o.id), eq(tasks.attempts, o.attempt), eq(tasks.status, 'processing'));

/**
 * The queue place of a task that `userId` queues now (issue 14), as SQL for the INSERT: one past the user's latest
 * task still processing, but no later than just before the head of the queue (the lowest fair_seq waiting). A user
 * with nothing waiting therefore goes next; one who queues 50 at once takes the next 50 rounds, and anyone who
 * queues meanwhile is served between them. Only the difference to the head matters; an empty queue starts at 0.
 * Run it under the user's task lock (two of one user's tasks must not get the same place).
 */
export function fairSeqOf(userId: number) {
  return sql`coalesce(greatest(
    (select max(u.fair_seq) + 1 from ${tasks} u where u.user_id = ${userId} and u.status = 'processing'),
    (select min(q.fair_seq) - 1 from ${tasks} q where q.status = 'processing' and q.lease_until is null)
  ), 0)`;
}

/**
 * Takes the next queued task of one of `types`, with a lease until `leaseUntil`. Users are served round-robin
 * (issue 14): the queue's order is (fair_seq, created_at, id), and fair_seq, given when a task is queued
 * (`fairSeqOf`), puts a user's first waiting task next and their n-th waiting task n rounds back, so one user's
 * thousand queued tasks do not starve another user's first one. One statement reading the partial index
 * tasks_fair_queue_idx in order (as cheap as first-in-first-out, with or without planner statistics); FOR UPDATE
 * SKIP LOCKED lets several instances claim at once.
 */
export async function claim(db: Db, types: readonly TaskType[], leaseUntil: Date): Promise<ClaimedTask | null> {
  if (types.length === 0) return null;
  const next = db
    .select({ id: tasks.id })
    .from(tasks)
    .where(and(eq(tasks.status, 'processing'), isNull(tasks.leaseUntil), inArray(tasks.type, [...types])))
    .orderBy(asc(tasks.fairSeq), asc(tasks.createdAt), asc(tasks.id))
    .limit(1)
    .for('update', { skipLocked: true });
  const [t] = await db
    .update(tasks)
    .set({ attempts: sql`${tasks.attempts} + 1`, leaseUntil })
    .where(inArray(tasks.id, next))
    .returning();
  if (!t) return null;
  return {
    id: t.id,
    userId: t.userId,
    type: t.type as TaskType,
    prompt: t.prompt,
    parameters: t.parameters,
    referenceFiles: t.referenceFiles,
    attempt: t.attempts,
    provider: t.provider,
    providerJob: t.providerJob,
    reviewRequired: t.reviewRequired,
    createdAt: t.createdAt,
  };
}

/** Extends the leases of the claims still owned; returns the ids that are no longer owned (re-claimed or ended). */
export async function heartbeat(db: Db, claims: Owned[], leaseUntil: Date): Promise<string[]> {
  if (claims.length === 0) return [];
  const kept = await db
    .update(tasks)
    .set({ leaseUntil })
    .where(and(eq(tasks.status, 'processing'), or(...claims.map((c) => and(eq(tasks.id, c.id), eq(tasks.attempts, c.attempt))))))
    .returning({ id: tasks.id });
  const alive = new Set(kept.map((r) => r.id));
  return claims.filter((c) => !alive.has(c.id)).map((c) => c.id);
}

/** Records which provider runs the claim, and its job state once the provider has accepted the job. */
export async function saveJob(db: Db, o: Owned, provider: string, job: unknown): Promise<boolean> {
  const r = await db
    .update(tasks)
    .set({ provider, providerJob: job === undefined ? null : (job as object) })
    .where(owned(o))
    .returning({ id: tasks.id });
  return r.length === 1;
}

/** Progress (0–100) and queue position as the provider reports them; best effort. */
export async function reportProgress(db: Db, o: Owned, p: { progress?: number | null; queuePosition?: number | null }) {
  const set: { progress?: number | null; queuePosition?: number | null } = {};
  if (p.progress !== undefined) set.progress = p.progress === null ? null : Math.max(0, Math.min(100, Math.round(p.progress)));
  if (p.queuePosition !== undefined) set.queuePosition = p.queuePosition === null ? null : Math.max(0, Math.round(p.queuePosition));
  if (Object.keys(set).length === 0) return;
  await db.update(tasks).set(set).where(owned(o)).returning(announce);
}

export interface Result {
  key: string;
  url: string;
  mime: string;
  sha256: string;
  size: number;
}

/** Completes the claim; false when it is no longer owned (nothing changes then). */
export async function complete(db: Db, o: Owned, r: Result, now: Date): Promise<boolean> {
  const done = await db
    .update(tasks)
    .set({
      status: 'completed',
      resultKey: r.key,
      resultUrl: r.url,
      resultMime: r.mime,
      resultSha256: r.sha256,
      resultSize: r.size,
      completedAt: now,
      leaseUntil: null,
      error: null,
      progress: 100,
      queuePosition: null,
      reviewStatus: 'approved',
      reviewMessage: null,
    })
    .where(owned(o))
    .returning({ id: tasks.id, ...announce });
  return done.length === 1;
}

/**
 * Holds the claim's output for a person's review (issue 13): the file is stored, but the task ends `failed` with
 * review_status `pending` and no result_url, so nothing serves it; `review approve` (src/cli/review.ts) completes it.
 */
export async function hold(db: Db, o: Owned, r: Omit<Result, 'url'>, message: string, now: Date): Promise<boolean> {
  const done = await db
    .update(tasks)
    .set({
      status: 'failed',
      error: message,
      resultKey: r.key,
      resultMime: r.mime,
      resultSha256: r.sha256,
      resultSize: r.size,
      completedAt: now,
      leaseUntil: null,
      queuePosition: null,
      reviewStatus: 'pending',
      reviewMessage: message,
    })
    .where(owned(o))
    .returning({ id: tasks.id, ...announce });
  return done.length === 1;
}

/**
 * Fails the claim with a short message for the user; false when it is no longer owned. `rejected`: the review
 * refused the output (review_status `rejected`, review_message = the error).
 */
export async function fail(db: Db, o: Owned, error: string, now: Date, rejected = false): Promise<boolean> {
  const review = rejected ? { reviewStatus: 'rejected', reviewMessage: error } : {};
  const done = await db
    .update(tasks)
    .set({ status: 'failed', error, completedAt: now, leaseUntil: null, queuePosition: null, ...review })
    .where(owned(o))
    .returning({ id: tasks.id, ...announce });
  return done.length === 1;
}

/** Gives claims back to the queue at once (a stopping instance), as if those attempts had not happened. */
export async function requeue(db: Db, claims: Owned[]) {
  for (const c of claims) {
    await db
      .update(tasks)
      .set({ leaseUntil: null, attempts: sql`greatest(${tasks.attempts} - 1, 0)` })
      .where(owned(c))
      .returning(announce);
  }
}

/** Re-queues tasks whose lease ran out (their instance died); fails those out of attempts. */
export async function sweep(db: Db, now: Date, maxAttempts: number): Promise<{ failed: number; requeued: string[] }> {
  const expired = and(eq(tasks.status, 'processing'), isNotNull(tasks.leaseUntil), lt(tasks.leaseUntil, now));
  const failed = await db
    .update(tasks)
    .set({
      status: 'failed',
      error: `多次中断后放弃 / abandoned after ${maxAttempts} interrupted attempts`,
      completedAt: now,
      leaseUntil: null,
      queuePosition: null,
    })
    .where(and(expired, sql`${tasks.attempts} >= ${maxAttempts}`))
    .returning({ id: tasks.id, ...announce });
  const requeued = await db
    .update(tasks)
    .set({ leaseUntil: null })
    .where(and(expired, sql`${tasks.attempts} < ${maxAttempts}`))
    .returning({ id: tasks.id, ...announce });
  return { failed: failed.length, requeued: requeued.map((r) => r.id) };
}

/**
 * Cancels a running task of its owner: status failed, error 已取消, canceled. Returns the provider and its job
 * state (to tell the provider), or null when the task is not the user's or not running.
 */
export async function cancel(db: Db, taskId: string, userId: number, now: Date) {
  const [row] = await db
    .update(tasks)
    .set({ status: 'failed', error: '已取消', canceled: true, completedAt: now, leaseUntil: null, queuePosition: null })
    .where(and(eq(tasks.id, taskId), eq(tasks.userId, userId), eq(tasks.status, 'processing'), eq(tasks.hidden, false)))
    .returning({ id: tasks.id, provider: tasks.provider, providerJob: tasks.providerJob, createdAt: tasks.createdAt, ...announce });
  return row ?? null;
}

/** Wakes every instance's runner (LISTEN/NOTIFY on both PostgreSQL and PGlite). */
export async function notifyWork(db: Db) {
  await db.execute(sql`select pg_notify(${CHANNEL_WORK}, '')`);
}

export async function notifyCancel(db: Db, taskId: string) {
  await db.execute(sql`select pg_notify(${CHANNEL_CANCEL}, ${taskId})`);
}
