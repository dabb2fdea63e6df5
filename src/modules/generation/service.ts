import { randomBytes } from 'node:crypto';
import type { Static } from 'elysia';
import { and, asc, eq, inArray, sql } from 'drizzle-orm';
import type { Clock } from '../../clock';
import { type Db, type Tx } from '../../db/client';
import { files, sessions, tasks } from '../../db/schema';
import { type AuthUser, touchSession, userOf } from '../../http/auth';
import { forgetTask, type ReadCache, readCacheOf } from '../../http/read-cache';
import type { TokenClaims } from '../../http/tokens';
import { AppError, badRequest, isoUtc, ok } from '../../http/envelope';
import { notFound, openObject } from '../../http/files';
import type { Storage } from '../../storage';
import { removeFileNodesByUrl } from '../favorites/service';
import { cancel as cancelQueued, fairSeqOf, notifyCancel, notifyWork } from '../../queue';
import { FILE_ID, FILE_URL } from '../uploads/service';
import type { CreateBody } from './model';
import { isVideoType, needsReference } from '../../tasks';
import type { Logger } from '../../logger';
import { recordVerdict, subjectOf } from '../../moderation/audit';
import type { Moderator, Verdict } from '../../moderation/types';
import { checkTaskLimits, type FairUseSettings, lockUserTasks } from './fair-use';
import { type IdempotencyScope, storeAnswer, storedAnswer } from '../../http/idempotency';
import { linkStepMemo, type ResultLinks } from '../../http/result-links';

export interface GenerationDeps {
  db: Db;
  storage: Storage;
  clock: Clock;
  /** tells the worker pool there is new work */
  wake(): void;
  /** reviews prompts and references before a task is queued (MODERATION) */
  moderator: Moderator;
  log: Logger;
  /** USER_MAX_ACTIVE_TASKS / USER_DAILY_TASKS (issue 14); absent ⇒ no limits */
  fairUse?: FairUseSettings;
  /** signs `signed_url` for browsers (issue 14); absent ⇒ no `signed_url` */
  links?: ResultLinks;
}

export const MSG_PROMPT_REJECTED = '提示词包含违规内容，请修改后重试';
export const MSG_REFERENCE_REJECTED = '参考图片未通过安全审核，请更换后重试';

/** A refusal of the request: code 400 with the verdict's message; code 503 when review could not be done. */
function refused(v: Verdict, fallback: string): AppError {
  return v.unavailable ? new AppError(503, v.message ?? '内容审核服务暂时不可用，请稍后重试') : badRequest(v.message ?? fallback);
}

/**
 * Reviews what a new task would generate from, before anything is stored: the prompt (and negative prompt), then
 * the reference images where the moderation service can look at images. Every verdict is recorded (the refused
 * ones with no task id). Returns whether a person must look at the output (a `review` verdict).
 */
async function reviewRequest(d: GenerationDeps, userId: number, taskId: string, text: string, refs: string[]): Promise<boolean> {
  const m = d.moderator;
  if (m.mode === 'none') return false;
  const record = (stage: 'prompt' | 'reference', verdict: Verdict, subject: string) =>
    recordVerdict(d.db, d.clock, { taskId: verdict.decision === 'reject' ? null : taskId, userId, stage, verdict, subject });
  const prompt = await m.checkText(text);
  await record('prompt', prompt, subjectOf({ text }));
  if (prompt.decision === 'reject') throw refused(prompt, MSG_PROMPT_REJECTED);
  let review = prompt.decision === 'review';
  if (m.checksImages && refs.length) {
    const rows = await d.db.select({ key: files.key, mime: files.mime }).from(files).where(inArray(files.id, [...new Set(refs)]));
    const images = await Promise.all(rows.map(async (r) => ({ bytes: await d.storage.read(r.key), mime: r.mime })));
    const verdict = await m.checkImages(images);
    await record('reference', verdict, subjectOf({ files: images.map((i) => i.bytes) }));
    if (verdict.decision === 'reject') throw refused(verdict, MSG_REFERENCE_REJECTED);
    review ||= verdict.decision === 'review';
  }
  if (review) d.log.info(`task ${taskId}: held for review after generation (its request scored over the review threshold)`);
  return review;
}

type Task = typeof tasks.$inferSelect;

/** What POST /generation validated (typed from its model). */
export type CreateInput = Static<typeof CreateBody>;

/** Bounds on what `parameters` may store: every history response echoes them, and the client parses them. */
export const PARAMETERS_MAX_DEPTH = 8;
export const PARAMETERS_MAX_BYTES = 16 * 1024;

function depthOf(v: unknown): number {
  if (v === null || typeof v !== 'object') return 0;
  let deepest = 0;
  for (const x of Object.values(v)) deepest = Math.max(deepest, depthOf(x));
  return deepest + 1;
}

/** `parameters` nested at most PARAMETERS_MAX_DEPTH levels (the object itself is level 1) and at most 16 KB as JSON. */
export function checkStoredParameters(parameters: Record<string, unknown>) {
  if (depthOf(parameters) > PARAMETERS_MAX_DEPTH) {
    throw badRequest(`参数不合规：parameters（嵌套最多 ${PARAMETERS_MAX_DEPTH} 层）`);
  }
  if (Buffer.byteLength(JSON.stringify(parameters)) > PARAMETERS_MAX_BYTES) {
    throw badRequest(`参数不合规：parameters（序列化后最多 ${PARAMETERS_MAX_BYTES / 1024} KB）`);
  }
}

/** The most pixels per video frame (the built-in engine encodes H.264 in WASM). */
export const MAX_VIDEO_PIXELS = 1024 * 1024;

/** Resolves `image`/`images` entries (file ids or file urls) to the caller's file ids, key image first. */
async function resolveReferences(d: GenerationDeps, userId: number, input: CreateInput): Promise<string[]> {
  const entries: [string, string][] = [];
  if (input.image !== undefined) entries.push(['image', input.image]);
  input.images?.forEach((v, i) => entries.push([`images[${i}]`, v]));
  const ids = entries.map(([field, v]) => {
    const value = v.trim();
    const id = FILE_ID.test(value) ? value : FILE_URL.exec(value)?.[1];
    if (!id) throw badRequest(`参数不合规：${field}（应为上传得到的 file_id 或 file_url）`);
    return [field, id] as const;
  });
  if (!ids.length) return [];
  const unique = [...new Set(ids.map(([, id]) => id))];
  const own = await d.db
    .select({ id: files.id })
    .from(files)
    .where(and(inArray(files.id, unique), eq(files.userId, userId)));
  const found = new Set(own.map((r) => r.id));
  const missing = ids.find(([, id]) => !found.has(id));
  if (missing) throw badRequest(`参数不合规：${missing[0]}（参考图片不存在）`);
  return ids.map(([, id]) => id);
}

/** What POST /generation answers (`data`), stored as is under an Idempotency-Key. */
export type CreatedTask = Awaited<ReturnType<typeof insertTask>>;

/**
 * POST /generation. With an Idempotency-Key (`idem`), a stored answer is returned as it was (`replayed`) and
 * nothing is queued. Order: the stored answer; validation; the limits (a pre-check, so that a user over a limit
 * costs no review); the prompt's review; then one transaction under the user's task lock that looks for a stored
 * answer again (a concurrent duplicate), checks the limits again, stores the task and the answer.
 */
export async function createTask(
  d: GenerationDeps,
  user: AuthUser,
  input: CreateInput,
  idem: IdempotencyScope | null = null,
): Promise<{ data: CreatedTask; replayed: boolean }> {
  if (idem) {
    const prior = await storedAnswer<CreatedTask>(d.db, idem, d.clock.now());
    if (prior) return { data: prior, replayed: true };
  }
  const prompt = input.prompt.trim();
  if (!prompt) throw badRequest('参数不合规：prompt（不能为空）');
  const parameters = input.parameters ?? {};
  const refs = await resolveReferences(d, user.id, input);
  if (needsReference(input.type) && refs.length === 0) {
    throw badRequest('参数不合规：image（图生图、图生视频需要至少一张参考图片）');
  }
  if (isVideoType(input.type)) {
    const w = (parameters.width as number | undefined) ?? 512;
    const h = (parameters.height as number | undefined) ?? 512;
    if (w * h > MAX_VIDEO_PIXELS) throw badRequest('参数不合规：width/height（视频每帧最多 1024×1024 像素）');
  }
  checkStoredParameters(parameters);
  if (d.fairUse) await checkTaskLimits(d.db, d.fairUse, user.id, d.clock.now());
  const references: Task['references'] = {};
  if (input.image !== undefined) references.image = input.image;
  if (input.images !== undefined) references.images = input.images;
  const id = `task_${randomBytes(10).toString('hex')}`;
  const negative = typeof parameters.negative_prompt === 'string' ? parameters.negative_prompt : '';
  const reviewRequired = await reviewRequest(d, user.id, id, negative ? `${prompt}\n${negative}` : prompt, refs);
  const answer = await d.db.transaction(async (tx) => {
    await lockUserTasks(tx, user.id);
    const now = d.clock.now();
    if (idem) {
      const prior = await storedAnswer<CreatedTask>(tx, idem, now);
      if (prior) return { data: prior, replayed: true };
    }
    if (d.fairUse) await checkTaskLimits(tx, d.fairUse, user.id, now);
    const data = await insertTask(tx, { id, user, input, prompt, parameters, references, refs, reviewRequired, createdAt: now });
    if (idem) await storeAnswer(tx, idem, data, now);
    return { data, replayed: false };
  });
  if (answer.replayed) return answer;
  forgetTask(answer.data.task_id, user.id); // committed: this instance's next history read lists it
  d.wake();
  // every instance's runner hears of it; if the notification is lost, their slow poll finds the task anyway
  await notifyWork(d.db).catch(() => {});
  return answer;
}

interface NewTask {
  id: string;
  user: AuthUser;
  input: CreateInput;
  prompt: string;
  parameters: Record<string, unknown>;
  references: Task['references'];
  refs: string[];
  reviewRequired: boolean;
  createdAt: Date;
}

/** Stores the task (queued: processing, no lease) and returns what POST /generation answers. */
async function insertTask(tx: Tx, { id, user, input, prompt, parameters, references, refs, reviewRequired, createdAt }: NewTask) {
  const stored = await tx.insert(tasks).values({
    id,
    userId: user.id,
    type: input.type,
    prompt,
    parameters,
    references,
    referenceFiles: refs,
    status: 'processing',
    reviewStatus: 'pending',
    reviewRequired,
    createdAt,
    fairSeq: fairSeqOf(user.id),
  }).returning({ id: tasks.id });
  // "created" is only said of a row the database confirms (the embedded PGlite once reported a failed insert as done)
  if (stored.length !== 1) throw new Error(`task ${id} was not stored`);
  return { task_id: id, created_at: isoUtc(createdAt), type: input.type, prompt, parameters, ...references, status: 'processing' };
}

const ownTask = async (d: GenerationDeps, userId: number, taskId: string) => {
  const [task] = await d.db
    .select()
    .from(tasks)
    .where(and(eq(tasks.id, taskId), eq(tasks.userId, userId), eq(tasks.hidden, false)));
  return task;
};

const pollQueries = new WeakMap<Db, ReturnType<typeof preparePoll>>();

/** The columns a task's view is built from (the poll, and the live events of events.ts). */
export const viewColumns = {
  id: tasks.id,
  status: tasks.status,
  createdAt: tasks.createdAt,
  resultUrl: tasks.resultUrl,
  completedAt: tasks.completedAt,
  error: tasks.error,
  progress: tasks.progress,
  queuePosition: tasks.queuePosition,
  canceled: tasks.canceled,
  reviewStatus: tasks.reviewStatus,
  reviewMessage: tasks.reviewMessage,
};
export interface ViewRow {
  id: string;
  status: string;
  createdAt: Date;
  resultUrl: string | null;
  completedAt: Date | null;
  error: string | null;
  progress: number | null;
  queuePosition: number | null;
  canceled: boolean;
  reviewStatus: string;
  reviewMessage: string | null;
}

/** A task's row in the read cache: what the poll shows, and its owner. */
export type CachedTask = ViewRow & { userId: number };

/** The poll query, prepared once per database: the task, only if the token that asks is still valid. */
function preparePoll(db: Db) {
  return db
    .select({ ...viewColumns, sessionExpiresAt: sessions.expiresAt })
    .from(tasks)
    .innerJoin(sessions, eq(sessions.userId, tasks.userId))
    .where(
      and(
        eq(tasks.id, sql.placeholder('id')),
        eq(tasks.userId, sql.placeholder('userId')),
        eq(tasks.hidden, false),
        eq(sessions.id, sql.placeholder('sid')),
        sql`${sessions.expiresAt} > now()`,
      ),
    )
    .prepare('poll_task');
}

/**
 * GET /generation/{id}, the endpoint the client polls every 2 s. From memory when the read cache (http/read-cache.ts)
 * knows both the session alive and the task's row; else one round trip that also checks the token's session
 * (revocation, by its primary key), or only the task when the session is known alive. Only when nothing is found is
 * the session looked at again, to tell 401 from 400.
 */
const ownQueries = new WeakMap<Db, ReturnType<typeof prepareOwn>>();

/** The poll without the session check, for a session known alive. */
function prepareOwn(db: Db) {
  return db
    .select(viewColumns)
    .from(tasks)
    .where(and(eq(tasks.id, sql.placeholder('id')), eq(tasks.userId, sql.placeholder('userId')), eq(tasks.hidden, false)))
    .prepare('poll_own_task');
}

/** A poll that found nothing: 401 for an ended or expired session, else 400 (never reveal another user's task). */
async function missingTask(db: Db, claims: TokenClaims): Promise<never> {
  await userOf(db, claims);
  throw badRequest('任务不存在');
}

export const TASK_ID = /^task_[0-9a-f]{20}$/;

/** A task's view from the read cache, for the owner of a session the cache knows alive; undefined otherwise. */
export function cachedView(d: Pick<GenerationDeps, 'db' | 'links'>, claims: TokenClaims, taskId: string): CachedView | undefined {
  const cache = readCacheOf(d.db);
  if (!cache?.live) return undefined;
  const row = cache.task<CachedTask>(taskId);
  if (!row || row.userId !== claims.userId || !cache.sessionAlive(claims.sessionId, claims.userId)) return undefined;
  touchSession(d.db, claims.sessionId);
  return { row, view: cache.derived(row, (r) => taskView(r)) };
}

export interface CachedView {
  row: CachedTask;
  /** the view without `signed_url` (it depends on the session: see withSignedUrl) */
  view: { message: string; data: TaskView };
}

/** A cached view with the asking session's `signed_url` added where the slow path adds it. */
export function withSignedUrl(v: CachedView, sign?: SignUrl): { message: string; data: TaskView } {
  const url = v.view.data.result_url;
  if (!sign || url === undefined) return v.view;
  return taskView(v.row, sign);
}

/** Reads of a task's row in flight, per database: polls that miss the cache together share one query. */
const ownReads = new WeakMap<Db, Map<string, { since: number; row: Promise<CachedTask | undefined> }>>();

/**
 * The caller's visible task, for a session known alive, remembered in the read cache. A change of a task makes the
 * next polls of every client of it miss at once (16 connections polling one task: 16 queries in a row on the
 * embedded database's one thread); they wait for the same read instead. Only a read that started after the latest
 * forget is joined, so that nobody gets a row older than a change it could already know of.
 */
function readOwnTask(db: Db, cache: ReadCache, taskId: string, userId: number): Promise<CachedTask | undefined> {
  let reads = ownReads.get(db);
  if (!reads) ownReads.set(db, (reads = new Map()));
  const key = `${taskId}:${userId}`;
  const since = cache.epoch();
  const running = reads.get(key);
  if (running && running.since === since) return running.row;
  let own = ownQueries.get(db);
  if (!own) ownQueries.set(db, (own = prepareOwn(db)));
  const query = own;
  const entry: { since: number; row: Promise<CachedTask | undefined> } = { since, row: Promise.resolve(undefined) };
  reads.set(key, entry);
  entry.row = (async () => {
    try {
      const [task] = await query.execute({ id: taskId, userId });
      if (!task) return undefined;
      const cached = { ...task, userId };
      cache.rememberTask(cached, since);
      return cached;
    } finally {
      if (reads.get(key) === entry) reads.delete(key);
    }
  })();
  return entry.row;
}

export async function getTask(d: GenerationDeps, claims: TokenClaims, taskId: string) {
  if (!TASK_ID.test(taskId)) return missingTask(d.db, claims);
  const sign = signerFor(d, claims.sessionId);
  const hit = cachedView(d, claims, taskId);
  if (hit) return withSignedUrl(hit, sign);
  const cache = readCacheOf(d.db);
  const since = cache?.epoch() ?? 0;
  if (cache?.sessionAlive(claims.sessionId, claims.userId)) {
    const task = await readOwnTask(d.db, cache, taskId, claims.userId);
    if (!task) throw badRequest('任务不存在');
    touchSession(d.db, claims.sessionId);
    return taskView(task, sign);
  }
  let poll = pollQueries.get(d.db);
  if (!poll) pollQueries.set(d.db, (poll = preparePoll(d.db)));
  const [task] = await poll.execute({ id: taskId, userId: claims.userId, sid: claims.sessionId });
  if (!task) return missingTask(d.db, claims);
  if (cache) {
    const { sessionExpiresAt, ...row } = task;
    cache.rememberSession(claims.sessionId, claims.userId, sessionExpiresAt, since);
    cache.rememberTask({ ...row, userId: claims.userId }, since);
  }
  touchSession(d.db, claims.sessionId);
  return taskView(task, sign);
}

/** Signs a result path for one session (`signed_url`). */
export type SignUrl = (path: string) => string;

/** The signer of `signed_url` for the session, or undefined when the deps sign no links. */
export function signerFor(d: Pick<GenerationDeps, 'links'>, sessionId: string): SignUrl | undefined {
  const links = d.links;
  return links ? (path) => links.sign(path, sessionId) : undefined;
}

/**
 * The poll's `message` and `data` for a task row; the live events (events.ts) send the same `data`. With `sign` (the
 * asking session's signer) a completed result also gets its `signed_url`.
 */
export function taskView(task: ViewRow, sign?: SignUrl): { message: string; data: TaskView } {
  const data: Omit<TaskView, 'review_status'> & { review_status?: ReviewStatus } = { task_id: task.id, status: task.status, created_at: isoUtc(task.createdAt) };
  if (task.status === 'completed' && task.resultUrl) {
    data.result_url = task.resultUrl;
    if (sign) data.signed_url = sign(task.resultUrl);
  }
  if (task.completedAt) data.completed_at = isoUtc(task.completedAt);
  if (task.status === 'failed' && task.error) data.error = task.error;
  addLiveFields(data, task);
  const message = task.status === 'completed' ? '任务完成' : task.status === 'failed' ? '任务失败' : '任务处理中';
  return { message, data };
}

export interface TaskView {
  task_id: string;
  status: string;
  created_at: string;
  result_url?: string;
  /** result_url signed for the asking session: usable without the token (`<img src>`) */
  signed_url?: string;
  completed_at?: string;
  error?: string;
  progress?: number;
  queue_position?: number;
  canceled?: true;
  review_status: ReviewStatus;
  review_message?: string;
}

export type ReviewStatus = 'pending' | 'approved' | 'rejected';

interface LiveFields {
  progress?: number;
  queue_position?: number;
  canceled?: true;
  review_status: ReviewStatus;
  review_message?: string;
}

/**
 * `progress` / `queue_position` while running (where the provider reports them), `canceled` once canceled, and
 * the content review's status (with its message when held or refused).
 */
function addLiveFields(
  data: Omit<LiveFields, 'review_status'> & { review_status?: ReviewStatus },
  t: { status: string; progress: number | null; queuePosition: number | null; canceled: boolean; reviewStatus: string; reviewMessage: string | null },
): asserts data is LiveFields {
  if (t.status === 'processing') {
    if (t.progress !== null) data.progress = t.progress;
    if (t.queuePosition !== null) data.queue_position = t.queuePosition;
  }
  if (t.canceled) data.canceled = true;
  data.review_status = t.reviewStatus as ReviewStatus;
  if (t.reviewMessage) data.review_message = t.reviewMessage;
}

/** Where a task's result is stored (storage key) and served (result_url): built here, not by the queue. */
export function resultLocation(taskId: string, ext: string) {
  return { key: `outputs/${taskId}.${ext}`, url: `/generated_outputs/${taskId}.${ext}` };
}

/**
 * Cancels the caller's running task (POST /generation/{id}/cancel): it ends failed, error 已取消, canceled; the
 * instance running it hears of it (NOTIFY) and stops its work and tells the provider. Someone else's, unknown or
 * finished: code 400.
 */
export async function cancelTask(d: GenerationDeps, user: AuthUser, taskId: string) {
  const row = TASK_ID.test(taskId) ? await cancelQueued(d.db, taskId, user.id, d.clock.now()) : null;
  if (!row) throw badRequest('任务不存在或已结束');
  forgetTask(taskId, user.id); // this instance's next poll shows it at once (the others hear of it by NOTIFY)
  await notifyCancel(d.db, taskId).catch(() => {}); // a runner that misses it finds out at its next heartbeat
  return { task_id: taskId, status: 'failed' as const, created_at: isoUtc(row.createdAt), error: '已取消' as const, canceled: true as const };
}

/** One page of the history: at most `limit` records after `cursor` (GET /user/generation_list?limit=&cursor=). */
export interface HistoryPage {
  limit?: number;
  cursor?: string;
}

/** Records per page when a cursor comes without `limit`. */
export const HISTORY_PAGE_DEFAULT = 20;
export const HISTORY_PAGE_MAX = 100;

/** The opaque cursor after a record: base64url of `<created_at in µs since the epoch>.<task id>` (the list's order). */
export const encodeCursor = (micros: string, taskId: string) => Buffer.from(`${micros}.${taskId}`).toString('base64url');

/** The position a cursor names; code 400 for anything this server did not hand out. */
export function decodeCursor(cursor: string): { micros: string; taskId: string } {
  const m = /^[A-Za-z0-9_-]{1,200}$/.test(cursor)
    ? /^(\d{1,17})\.(task_[0-9a-f]{20})$/.exec(Buffer.from(cursor, 'base64url').toString('latin1'))
    : null;
  if (!m) throw badRequest('参数不合规：cursor（无效的游标）');
  return { micros: m[1], taskId: m[2] };
}

/**
 * The caller's visible records, oldest first. Without `page` the whole list (the spec, and what the desktop client
 * reads); with it one page in the same order (keyset on created_at, id: the index tasks_user_created_idx) and the
 * cursor of the next page, null after the last. Completed records carry `signed_url` for the caller's session.
 */
export async function history(d: GenerationDeps, user: AuthUser): Promise<Record<string, unknown>[]>;
export async function history(d: GenerationDeps, user: AuthUser, page: HistoryPage): Promise<{ items: Record<string, unknown>[]; nextCursor: string | null }>;
export async function history(
  d: GenerationDeps,
  user: AuthUser,
  page?: HistoryPage,
): Promise<Record<string, unknown>[] | { items: Record<string, unknown>[]; nextCursor: string | null }> {
  const own = ownVisible(user);
  const sign = signerFor(d, user.sessionId);
  if (!page) return (await wholeHistory(d, user)).map((r) => historyItem(r, sign));
  const limit = page.limit ?? HISTORY_PAGE_DEFAULT;
  if (!Number.isSafeInteger(limit) || limit < 1 || limit > HISTORY_PAGE_MAX) {
    throw badRequest(`参数不合规：limit（应为 1–${HISTORY_PAGE_MAX} 的整数）`);
  }
  const after = page.cursor === undefined ? undefined : decodeCursor(page.cursor);
  // exact to the microsecond whatever wrote the row (PostgreSQL keeps µs, a JS Date only ms)
  const micros = sql<string>`(extract(epoch from ${tasks.createdAt}) * 1000000)::bigint::text`;
  const rows = await d.db
    .select({ ...historyColumns, micros })
    .from(tasks)
    .where(
      after
        ? and(own, sql`(${tasks.createdAt}, ${tasks.id}) > (timestamptz 'epoch' + ${after.micros}::bigint * interval '1 microsecond', ${after.taskId})`)
        : own,
    )
    .orderBy(asc(tasks.createdAt), asc(tasks.id))
    .limit(limit + 1);
  const more = rows.length > limit;
  const items = rows.slice(0, limit);
  const last = items.at(-1);
  return { items: items.map((r) => historyItem(r, sign)), nextCursor: more && last ? encodeCursor(String(last.micros), last.id) : null };
}

/** The columns of a history record. */
const historyColumns = {
  id: tasks.id,
  createdAt: tasks.createdAt,
  type: tasks.type,
  prompt: tasks.prompt,
  parameters: tasks.parameters,
  resultUrl: tasks.resultUrl,
  status: tasks.status,
  progress: tasks.progress,
  queuePosition: tasks.queuePosition,
  canceled: tasks.canceled,
  reviewStatus: tasks.reviewStatus,
  reviewMessage: tasks.reviewMessage,
};

const ownVisible = (user: AuthUser) => and(eq(tasks.userId, user.id), eq(tasks.hidden, false));

/**
 * All of the caller's visible records, oldest first. The whole list is what the desktop client reads: kept in the
 * read cache until one of the user's tasks changes.
 */
async function wholeHistory(d: GenerationDeps, user: AuthUser): Promise<readonly HistoryRow[]> {
  const cache = readCacheOf(d.db);
  const cached = cache?.history<HistoryRow>(user.id);
  if (cached) return cached;
  const since = cache?.epoch() ?? 0;
  const rows = await d.db.select(historyColumns).from(tasks).where(ownVisible(user)).orderBy(asc(tasks.createdAt), asc(tasks.id));
  cache?.rememberHistory(user.id, rows, since);
  return rows;
}

/** The body built last from a user's history rows, per session and link expiry step (UTF-8 bytes). */
const historyBodies = linkStepMemo<readonly HistoryRow[], Uint8Array>();
const utf8 = new TextEncoder();

/**
 * The whole history (no page) as the response's JSON, in UTF-8. While the user's rows stay in the read cache (the
 * same array) and the session's links stay the same (one expiry step, see result-links.ts), it is built and encoded
 * once: a client that reads a long history again and again costs a lookup, not 1,000 records serialised (nor a
 * UTF-16 → UTF-8 conversion of them: the message is Chinese, so the JSON text is a two-byte string).
 */
export async function historyBody(d: GenerationDeps, user: AuthUser): Promise<Uint8Array> {
  const rows = await wholeHistory(d, user);
  const sign = signerFor(d, user.sessionId);
  return historyBodies(rows, user.sessionId, d.links?.expiry() ?? '', () => utf8.encode(JSON.stringify(ok('成功', rows.map((r) => historyItem(r, sign))))));
}

interface HistoryRow {
  id: string;
  createdAt: Date;
  type: string;
  prompt: string;
  parameters: unknown;
  resultUrl: string | null;
  status: string;
  progress: number | null;
  queuePosition: number | null;
  canceled: boolean;
  reviewStatus: string;
  reviewMessage: string | null;
}

/** One history record as the API shows it. */
function historyItem(r: HistoryRow, sign: SignUrl | undefined) {
  const item: Record<string, unknown> & Omit<LiveFields, 'review_status'> & { review_status?: ReviewStatus } = {
    task_id: r.id,
    created_at: isoUtc(r.createdAt),
    type: r.type,
    prompt: r.prompt,
    parameters: r.parameters,
    result_url: r.resultUrl,
    status: r.status,
  };
  if (sign && r.status === 'completed' && r.resultUrl) item.signed_url = sign(r.resultUrl);
  addLiveFields(item, r);
  return item;
}

/** `/generated_outputs/x.png` from what the client sent (a path, or an absolute URL). */
const pathOf = (url: string) => {
  const m = /^https?:\/\/[^/]+(\/.*)$/.exec(url.trim());
  return m ? m[1] : url.trim();
};

/**
 * Hides a record from its owner and removes the owner's favorite file nodes that point at its result,
 * in one transaction. `by` selects the record by result url or by task id.
 */
export async function hideRecord(d: GenerationDeps, user: AuthUser, by: { resultUrl: string } | { taskId: string }) {
  const hidden = await d.db.transaction(async (tx) => {
    const match = 'resultUrl' in by ? eq(tasks.resultUrl, pathOf(by.resultUrl)) : eq(tasks.id, by.taskId);
    const [task] = await tx
      .update(tasks)
      .set({ hidden: true, hiddenAt: d.clock.now() })
      .where(and(match, eq(tasks.userId, user.id), eq(tasks.hidden, false)))
      .returning({ id: tasks.id, resultUrl: tasks.resultUrl });
    if (!task) throw badRequest('生成记录不存在');
    if (task.resultUrl) await removeFileNodesByUrl(tx, user.id, task.resultUrl);
    return task;
  });
  forgetTask(hidden.id, user.id); // committed: this instance's next poll and history no longer show it
  return { result_url: hidden.resultUrl };
}

/** The caller's completed, visible result behind `/generated_outputs/<name>`; anything else is 404. */
export async function findOwnResult(d: GenerationDeps, userId: number, name: string) {
  const m = /^(task_[0-9a-f]{20})\.(png|jpg|webp|gif|mp4|webm|mov)$/.exec(name);
  if (!m) throw notFound();
  const task = await ownTask(d, userId, m[1]);
  if (!task || task.status !== 'completed' || task.reviewStatus !== 'approved' || !task.resultKey || task.resultUrl !== `/generated_outputs/${name}`) {
    throw notFound();
  }
  const object = await openObject(d.storage, task.resultKey);
  return { object, mime: task.resultMime ?? 'application/octet-stream' };
}

/** A signed link that is tampered with, expired, or whose session ended: HTTP 403, whatever the file (issue 14). */
export const linkRefused = () => new AppError(403, '链接无效或已过期', 403);

/**
 * The result behind a correctly signed `/generated_outputs/<name>` link of session `sessionId` (the signature is
 * checked by the route, before this): one query reads the record and whether the session is still alive and the
 * record's owner's. An ended or expired session is HTTP 403; a record hidden since, or a file gone, HTTP 404 as for
 * the bearer form.
 */
export async function findSignedResult(d: GenerationDeps, sessionId: string, name: string) {
  const m = /^(task_[0-9a-f]{20})\.(png|jpg|webp|gif|mp4|webm|mov)$/.exec(name);
  if (!m) throw notFound();
  const [task] = await d.db
    .select({
      status: tasks.status,
      reviewStatus: tasks.reviewStatus,
      resultKey: tasks.resultKey,
      resultUrl: tasks.resultUrl,
      resultMime: tasks.resultMime,
      session: sessions.id,
    })
    .from(tasks)
    .leftJoin(sessions, and(eq(sessions.id, sessionId), eq(sessions.userId, tasks.userId), sql`${sessions.expiresAt} > now()`))
    .where(and(eq(tasks.id, m[1]), eq(tasks.hidden, false)));
  if (task && task.session === null) throw linkRefused();
  if (!task || task.status !== 'completed' || task.reviewStatus !== 'approved' || !task.resultKey || task.resultUrl !== `/generated_outputs/${name}`) {
    throw notFound();
  }
  const object = await openObject(d.storage, task.resultKey);
  return { object, mime: task.resultMime ?? 'application/octet-stream' };
}
