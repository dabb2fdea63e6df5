import { randomBytes } from 'node:crypto';
import type { Static } from 'elysia';
import { and, asc, eq, inArray, sql } from 'drizzle-orm';
import type { Clock } from '../../clock';
import { type Db, isPglite } from '../../db/client';
import { files, sessions, tasks } from '../../db/schema';
import { type AuthUser, touchSession, userOf } from '../../http/auth';
import { knownAlive, rememberAlive, sessionEpoch } from '../../http/session-cache';
import type { TokenClaims } from '../../http/tokens';
import { badRequest, isoUtc } from '../../http/envelope';
import { notFound, openObject } from '../../http/files';
import type { Storage } from '../../storage';
import { removeFileNodesByUrl } from '../favorites/service';
import { cancel as cancelQueued, notifyCancel, notifyWork } from '../../queue';
import { FILE_ID, FILE_URL } from '../uploads/service';
import type { CreateBody } from './model';
import { isVideoType, needsReference } from '../../tasks';

export interface GenerationDeps {
  db: Db;
  storage: Storage;
  clock: Clock;
  /** tells the worker pool there is new work */
  wake(): void;
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

export async function createTask(d: GenerationDeps, user: AuthUser, input: CreateInput) {
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
  const references: Task['references'] = {};
  if (input.image !== undefined) references.image = input.image;
  if (input.images !== undefined) references.images = input.images;
  const id = `task_${randomBytes(10).toString('hex')}`;
  const createdAt = d.clock.now();
  const stored = await d.db.insert(tasks).values({
    id,
    userId: user.id,
    type: input.type,
    prompt,
    parameters,
    references,
    referenceFiles: refs,
    status: 'processing',
    createdAt,
  }).returning({ id: tasks.id });
  // "created" is only said of a row the database confirms (the embedded PGlite once reported a failed insert as done)
  if (stored.length !== 1) throw new Error(`task ${id} was not stored`);
  d.wake();
  // every instance's runner hears of it; if the notification is lost, their slow poll finds the task anyway
  await notifyWork(d.db).catch(() => {});
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
}

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
 * GET /generation/{id}, the endpoint the client polls every 2 s: one round trip that also checks the token's
 * session (revocation, by its primary key); only when it finds nothing is the session looked at again, to tell
 * 401 from 400.
 */
const ownQueries = new WeakMap<Db, ReturnType<typeof prepareOwn>>();

/** The poll without the session check, for a session known alive (embedded only, see http/session-cache.ts). */
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

export async function getTask(d: GenerationDeps, claims: TokenClaims, taskId: string) {
  if (!/^task_[0-9a-f]{20}$/.test(taskId)) return missingTask(d.db, claims);
  const embedded = isPglite(d.db);
  if (embedded && knownAlive(claims.sessionId, claims.userId)) {
    let own = ownQueries.get(d.db);
    if (!own) ownQueries.set(d.db, (own = prepareOwn(d.db)));
    const [task] = await own.execute({ id: taskId, userId: claims.userId });
    if (!task) throw badRequest('任务不存在');
    touchSession(d.db, claims.sessionId);
    return taskView(task);
  }
  let poll = pollQueries.get(d.db);
  if (!poll) pollQueries.set(d.db, (poll = preparePoll(d.db)));
  const since = sessionEpoch();
  const [task] = await poll.execute({ id: taskId, userId: claims.userId, sid: claims.sessionId });
  if (task && embedded) rememberAlive(claims.sessionId, claims.userId, task.sessionExpiresAt, since);
  if (!task) return missingTask(d.db, claims);
  touchSession(d.db, claims.sessionId);
  return taskView(task);
}

/** The poll's `message` and `data` for a task row; the live events (events.ts) send the same `data`. */
export function taskView(task: ViewRow): { message: string; data: TaskView } {
  const data: TaskView = { task_id: task.id, status: task.status, created_at: isoUtc(task.createdAt) };
  if (task.status === 'completed' && task.resultUrl) data.result_url = task.resultUrl;
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
  completed_at?: string;
  error?: string;
  progress?: number;
  queue_position?: number;
  canceled?: true;
}

/** `progress` / `queue_position` while running (where the provider reports them), `canceled` once canceled. */
function addLiveFields(
  data: { progress?: number; queue_position?: number; canceled?: true },
  t: { status: string; progress: number | null; queuePosition: number | null; canceled: boolean },
) {
  if (t.status === 'processing') {
    if (t.progress !== null) data.progress = t.progress;
    if (t.queuePosition !== null) data.queue_position = t.queuePosition;
  }
  if (t.canceled) data.canceled = true;
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
  const row = /^task_[0-9a-f]{20}$/.test(taskId) ? await cancelQueued(d.db, taskId, user.id, d.clock.now()) : null;
  if (!row) throw badRequest('任务不存在或已结束');
  await notifyCancel(d.db, taskId).catch(() => {}); // a runner that misses it finds out at its next heartbeat
  return { task_id: taskId, status: 'failed' as const, created_at: isoUtc(row.createdAt), error: '已取消' as const, canceled: true as const };
}

export async function history(d: GenerationDeps, user: AuthUser) {
  const rows = await d.db
    .select({
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
    })
    .from(tasks)
    .where(and(eq(tasks.userId, user.id), eq(tasks.hidden, false)))
    .orderBy(asc(tasks.createdAt), asc(tasks.id));
  return rows.map((r) => {
    const item: Record<string, unknown> & { progress?: number; queue_position?: number; canceled?: true } = {
      task_id: r.id,
      created_at: isoUtc(r.createdAt),
      type: r.type,
      prompt: r.prompt,
      parameters: r.parameters,
      result_url: r.resultUrl,
      status: r.status,
    };
    addLiveFields(item, r);
    return item;
  });
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
  return d.db.transaction(async (tx) => {
    const match = 'resultUrl' in by ? eq(tasks.resultUrl, pathOf(by.resultUrl)) : eq(tasks.id, by.taskId);
    const [task] = await tx
      .update(tasks)
      .set({ hidden: true, hiddenAt: d.clock.now() })
      .where(and(match, eq(tasks.userId, user.id), eq(tasks.hidden, false)))
      .returning({ resultUrl: tasks.resultUrl });
    if (!task) throw badRequest('生成记录不存在');
    if (task.resultUrl) await removeFileNodesByUrl(tx, user.id, task.resultUrl);
    return { result_url: task.resultUrl };
  });
}

/** The caller's completed, visible result behind `/generated_outputs/<name>`; anything else is 404. */
export async function findOwnResult(d: GenerationDeps, userId: number, name: string) {
  const m = /^(task_[0-9a-f]{20})\.(png|jpg|webp|gif|mp4|webm|mov)$/.exec(name);
  if (!m) throw notFound();
  const task = await ownTask(d, userId, m[1]);
  if (!task || task.status !== 'completed' || !task.resultKey || task.resultUrl !== `/generated_outputs/${name}`) {
    throw notFound();
  }
  const object = await openObject(d.storage, task.resultKey);
  return { object, mime: task.resultMime ?? 'application/octet-stream' };
}
