import { and, asc, eq, inArray, isNotNull, isNull, lt, sql } from 'drizzle-orm';
import type { Clock } from '../clock';
import type { WorkerPriority } from '../config';
import type { Db } from '../db/client';
import { files, tasks } from '../db/schema';
import type { Logger } from '../logger';
import { type Storage, StorageFullError } from '../storage/local';
import type { JobRequest, JobResult } from './protocol';

export interface PoolOptions {
  db: Db;
  storage: Storage;
  clock: Clock;
  log: Logger;
  /** number of workers */
  size: number;
  /** how long a claimed task stays owned without a heartbeat; an expired lease means its worker is gone */
  leaseMs: number;
  /** claims of one task before it is failed instead of re-queued */
  maxAttempts: number;
  /** longest a single task may run before its worker is killed and the task failed */
  taskTimeoutMs: number;
  /** how often to look for work queued by other instances (new tasks here call wake()) */
  pollMs: number;
  /** CPU priority of the worker threads, so that generation on every core does not slow the HTTP thread (default normal) */
  priority?: WorkerPriority;
  /** worker entry; defaults to the built-in engine worker */
  workerUrl?: string;
}

export interface WorkerPool {
  start(): Promise<void>;
  /** there may be new work: look now */
  wake(): void;
  /** stop claiming; wait up to graceMs for running tasks, then give the rest back to the queue */
  stop(graceMs?: number): Promise<void>;
  readonly running: number;
}

/** In the compiled binary the worker is an extra entrypoint, addressed from the bundle root (scripts/build.ts). */
function defaultWorkerUrl(): string {
  return import.meta.url.includes('$bunfs') ? './src/engine/worker.ts' : new URL('./worker.ts', import.meta.url).href;
}

interface Slot {
  worker: Worker;
  /** the task it is running */
  taskId: string | null;
  settle: ((r: JobResult) => void) | null;
}

const shortError = (msg: string) => msg.replace(/\s+/g, ' ').slice(0, 300);

export function createWorkerPool(o: PoolOptions): WorkerPool {
  const url = o.workerUrl ?? defaultWorkerUrl();
  const slots: Slot[] = [];
  let stopped = false;
  let stopping: Promise<void> | null = null;
  let pumping: Promise<void> | null = null;
  let again = false;
  const timers: ReturnType<typeof setInterval>[] = [];
  const inflight = new Set<Promise<void>>();

  const spawn = (slot?: Slot): Slot => {
    const s: Slot = slot ?? { worker: undefined as unknown as Worker, taskId: null, settle: null };
    const worker = new Worker(url);
    s.worker = worker;
    worker.onmessage = (ev: MessageEvent<JobResult>) => {
      if (s.worker !== worker) return;
      const settle = s.settle;
      s.settle = null;
      settle?.(ev.data);
    };
    const died = (why: string) => {
      if (s.worker !== worker) return; // already replaced
      const settle = s.settle;
      s.settle = null;
      worker.terminate();
      if (!stopped) spawn(s); // replace it
      settle?.({ taskId: s.taskId ?? '', ok: false, error: why });
    };
    worker.onerror = (ev) => {
      ev.preventDefault?.();
      died(`生成进程异常退出 / worker crashed: ${ev.message ?? 'error'}`);
    };
    worker.addEventListener('close', () => died('生成进程异常退出 / worker exited'));
    return s;
  };

  const leaseUntil = () => new Date(o.clock.now().getTime() + o.leaseMs);

  /** Takes the oldest queued task, if any; several instances can share the queue. */
  async function claim() {
    const next = o.db
      .select({ id: tasks.id })
      .from(tasks)
      .where(and(eq(tasks.status, 'processing'), isNull(tasks.leaseUntil)))
      .orderBy(asc(tasks.createdAt), asc(tasks.id))
      .limit(1)
      .for('update', { skipLocked: true });
    const [task] = await o.db
      .update(tasks)
      .set({ attempts: sql`${tasks.attempts} + 1`, leaseUntil: leaseUntil() })
      .where(inArray(tasks.id, next))
      .returning();
    return task ?? null;
  }

  async function finish(taskId: string, r: JobResult) {
    const now = o.clock.now();
    if (r.ok) {
      const key = `outputs/${taskId}.${r.ext}`;
      try {
        await o.storage.put(key, r.bytes);
      } catch (e) {
        if (!(e instanceof StorageFullError)) throw e;
        o.log.error(`task ${taskId}: no space left to store its result (${r.bytes.byteLength} bytes)`);
        r = { taskId, ok: false, error: '服务器存储空间不足，结果未能保存 / no space left on the server' };
      }
    }
    if (r.ok) {
      const key = `outputs/${taskId}.${r.ext}`;
      await o.db
        .update(tasks)
        .set({
          status: 'completed',
          resultKey: key,
          resultUrl: `/generated_outputs/${taskId}.${r.ext}`,
          resultMime: r.mime,
          completedAt: now,
          leaseUntil: null,
          error: null,
        })
        .where(and(eq(tasks.id, taskId), eq(tasks.status, 'processing')));
      o.log.info(`task ${taskId} completed in ${Math.round(r.ms)} ms (${r.bytes.byteLength} bytes)`);
    } else {
      await o.db
        .update(tasks)
        .set({ status: 'failed', error: shortError(r.error), completedAt: now, leaseUntil: null })
        .where(and(eq(tasks.id, taskId), eq(tasks.status, 'processing')));
      o.log.warn(`task ${taskId} failed: ${shortError(r.error)}`);
    }
  }

  async function run(slot: Slot, task: typeof tasks.$inferSelect) {
    let result: JobResult;
    try {
      const refs = task.referenceFiles.length
        ? await o.db.select({ id: files.id, key: files.key }).from(files).where(inArray(files.id, task.referenceFiles))
        : [];
      const byId = new Map(refs.map((f) => [f.id, f.key]));
      const references = await Promise.all(
        task.referenceFiles.map((id) => {
          const key = byId.get(id);
          if (!key) throw new Error(`参考图片不存在 / reference ${id} is gone`);
          return o.storage.read(key);
        }),
      );
      const job: JobRequest = {
        taskId: task.id,
        type: task.type as JobRequest['type'],
        prompt: task.prompt,
        parameters: task.parameters,
        references,
        priority: o.priority ?? 'normal',
      };
      result = await new Promise<JobResult>((resolve) => {
        const timer = setTimeout(() => {
          // a stuck worker: kill it; its replacement takes the next task
          const settle = slot.settle;
          slot.settle = null;
          slot.worker.terminate();
          spawn(slot);
          settle?.({ taskId: task.id, ok: false, error: `生成超时 / timed out after ${o.taskTimeoutMs} ms` });
        }, o.taskTimeoutMs);
        slot.settle = (r) => {
          clearTimeout(timer);
          resolve(r);
        };
        slot.worker.postMessage(job, references.map((b) => b.buffer as ArrayBuffer));
      });
    } catch (e) {
      result = { taskId: task.id, ok: false, error: (e as Error).message };
    }
    try {
      await finish(task.id, result);
    } catch (e) {
      o.log.error(`task ${task.id}: could not record the result`, e);
    } finally {
      slot.taskId = null;
    }
  }

  async function pumpOnce() {
    for (const slot of slots) {
      if (stopped) return;
      if (slot.taskId) continue;
      const task = await claim();
      if (!task) return;
      slot.taskId = task.id;
      const p = run(slot, task).finally(() => {
        inflight.delete(p);
        wake();
      });
      inflight.add(p);
    }
  }

  function wake() {
    if (stopped) return;
    if (pumping) {
      again = true;
      return;
    }
    pumping = (async () => {
      do {
        again = false;
        try {
          await pumpOnce();
        } catch (e) {
          o.log.error('worker pool: claiming work failed', e);
        }
      } while (again && !stopped);
      pumping = null;
    })();
  }

  /** Re-queues tasks whose lease expired (their worker or instance died); fails those out of attempts. */
  async function sweep() {
    const now = o.clock.now();
    const expired = and(eq(tasks.status, 'processing'), isNotNull(tasks.leaseUntil), lt(tasks.leaseUntil, now));
    await o.db
      .update(tasks)
      .set({
        status: 'failed',
        error: `多次中断后放弃 / abandoned after ${o.maxAttempts} interrupted attempts`,
        completedAt: now,
        leaseUntil: null,
      })
      .where(and(expired, sql`${tasks.attempts} >= ${o.maxAttempts}`));
    const requeued = await o.db
      .update(tasks)
      .set({ leaseUntil: null })
      .where(and(expired, sql`${tasks.attempts} < ${o.maxAttempts}`))
      .returning({ id: tasks.id });
    if (requeued.length) o.log.warn(`re-queued ${requeued.length} interrupted task(s)`);
  }

  /** Keeps the leases of running tasks alive. */
  async function heartbeat() {
    const ids = slots.map((s) => s.taskId).filter((id): id is string => !!id);
    if (ids.length) {
      await o.db
        .update(tasks)
        .set({ leaseUntil: leaseUntil() })
        .where(and(inArray(tasks.id, ids), eq(tasks.status, 'processing')));
    }
  }

  const every = (ms: number, fn: () => Promise<void>, what: string) => {
    const t = setInterval(() => fn().catch((e) => o.log.error(`worker pool: ${what} failed`, e)), ms);
    t.unref?.();
    timers.push(t);
  };

  return {
    get running() {
      return slots.filter((s) => s.taskId).length;
    },
    async start() {
      for (let i = 0; i < o.size; i++) slots.push(spawn());
      await sweep();
      every(Math.max(50, Math.floor(o.leaseMs / 3)), heartbeat, 'heartbeat');
      every(Math.max(50, Math.floor(o.leaseMs / 2)), sweep, 'sweep');
      every(o.pollMs, async () => wake(), 'poll');
      wake();
    },
    wake,
    stop(graceMs = 10_000) {
      stopping ??= stopPool(graceMs);
      return stopping;
    },
  };

  async function stopPool(graceMs: number) {
    stopped = true;
    for (const t of timers) clearInterval(t);
    await pumping;
    const all = Promise.all([...inflight]);
    const timedOut = await Promise.race([
      all.then(() => false),
      new Promise<boolean>((r) => setTimeout(() => r(true), graceMs).unref?.()),
    ]);
    const left = slots.map((s) => s.taskId).filter((id): id is string => !!id);
    for (const s of slots) {
      s.settle = null; // what is still running is given back below, not failed
      s.worker.terminate();
    }
    if (timedOut && left.length) {
      // give unfinished work back to the queue at once, as if this attempt had not happened
      await o.db
        .update(tasks)
        .set({ leaseUntil: null, attempts: sql`greatest(${tasks.attempts} - 1, 0)` })
        .where(and(inArray(tasks.id, left), eq(tasks.status, 'processing')));
    }
    for (const s of slots) s.taskId = null;
  }
}
