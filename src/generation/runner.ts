// The runner: claims queued tasks (src/queue), hands each to the provider its type is routed to, keeps the
// claims' leases alive, stores the outputs, and completes or fails the tasks — owner-checked, so that a task
// claimed again elsewhere is never completed twice. New work arrives by LISTEN/NOTIFY from any instance; a slow
// poll is the safety net. Cancels arrive the same way and abort the provider's work.
import { createHash } from 'node:crypto';
import { inArray } from 'drizzle-orm';
import type { Clock } from '../clock';
import type { Database, Db } from '../db/client';
import { files, tasks } from '../db/schema';
import type { Logger } from '../logger';
import { sniffMedia } from '../media';
import * as queue from '../queue';
import { type Storage, StorageFullError, StorageNotFoundError, StorageUnavailableError } from '../storage';
import { isVideoType, TASK_TYPES, type TaskType } from '../tasks';
import { type GenerationProvider, type ProviderContext, type ProviderOutput, ProviderRefusal, ProviderUnavailable } from '../providers/types';
import { LabelError, type Labeller } from '../labels';
import { recordVerdict, subjectOf } from '../moderation/audit';
import type { Moderator, Verdict } from '../moderation/types';
import type { MediaKind } from '../media';
import { metricsFor, type TaskMetrics, type TaskOutcome } from '../ops/metrics';

export interface RunnerOptions {
  db: Db;
  /** LISTEN for new work and cancels from every instance; without it only wake() and the slow poll find work */
  database?: Pick<Database, 'listen'>;
  storage: Storage;
  clock: Clock;
  log: Logger;
  providers: GenerationProvider[];
  /** which provider runs each type (by name); a type without a route is not claimed here */
  routes: Partial<Record<TaskType, string>>;
  /** how long a claim stays owned without a heartbeat */
  leaseMs: number;
  /** claims of one task before it is failed instead of re-queued */
  maxAttempts: number;
  /** longest one task may run */
  taskTimeoutMs: number;
  /** the safety-net poll for work (NOTIFY does the rest) */
  pollMs: number;
  /** largest output stored */
  maxOutputBytes?: number;
  /** where a task's result is stored and served (the generation module decides) */
  resultLocation(taskId: string, ext: string): { key: string; url: string };
  /** the AI-content labels every output gets before it is stored (AIGC_LABEL) */
  labeller: Labeller;
  /** reviews every output before its task completes (MODERATION) */
  moderator: Moderator;
  /** counts outcomes and busy workers (/metrics); by default the registry of `db` */
  metrics?: TaskMetrics;
  /** least time between two progress writes of one task (ms; default 250); the final 100 is always written */
  progressEveryMs?: number;
}

export interface Runner {
  start(): Promise<void>;
  /** there may be new work: look now */
  wake(): void;
  /** stop claiming; wait up to graceMs for running tasks, then give the rest back to the queue */
  stop(graceMs?: number): Promise<void>;
  readonly running: number;
}

/** Why a task's work was aborted. */
type Stop = { kind: 'cancel' } | { kind: 'timeout' } | { kind: 'lost' } | { kind: 'stop' };

interface Running {
  claim: queue.Owned;
  provider: GenerationProvider;
  controller: AbortController;
  /** the provider's job state as last saved, to tell the provider about a cancel */
  job: unknown;
  /** performance.now() when the claim started running */
  started: number;
}

const shortError = (msg: string) => msg.replace(/\s+/g, ' ').slice(0, 300);
export const MSG_TIMEOUT = (ms: number) => `生成超时 / timed out after ${ms} ms`;
export const MSG_UNAVAILABLE = '生成服务暂时不可用，请稍后重试';
export const MSG_FAILED = '生成失败，请稍后重试';
export const MSG_BAD_OUTPUT = '生成结果格式不正确';
export const MSG_DISK_FULL = '服务器存储空间不足，结果未能保存 / no space left on the server';
export const MSG_STORAGE_UNAVAILABLE = '存储服务暂时不可用，结果未能保存，请稍后重试 / object storage unavailable';
export const MSG_OUTPUT_REJECTED = '生成内容未通过安全审核';
export const MSG_HELD = '生成内容需人工审核，审核通过后将显示在历史记录中';
export const MSG_LABEL_FAILED = '生成结果添加AI标识失败，请稍后重试';
export const MSG_REVIEW_UNAVAILABLE = '内容审核服务暂时不可用，请稍后重试';

/**
 * The output was not approved: refused by the review (review_status `rejected`), or the review could not be done
 * under MODERATION_FAIL=closed (review_status stays `pending`). Either way nothing is stored.
 */
class OutputRejected extends Error {
  constructor(
    message: string,
    readonly rejected: boolean,
  ) {
    super(message);
  }
}

/** Frames of a video sampled for an image-only review service. */
const SAMPLE_FRAMES = 4;

export function createRunner(o: RunnerOptions): Runner {
  const byName = new Map(o.providers.map((p) => [p.name, p]));
  const busy = new Map<string, number>();
  const running = new Map<string, Running>();
  const maxOutput = o.maxOutputBytes ?? 512 * 1024 * 1024;
  const progressEveryMs = o.progressEveryMs ?? 250;
  let stopped = true;
  let pumping: Promise<void> | null = null;
  let again = false;
  const timers: ReturnType<typeof setInterval>[] = [];
  const unlisten: (() => Promise<void>)[] = [];
  const inflight = new Set<Promise<void>>();
  const metrics = o.metrics ?? metricsFor(o.db);
  let unregister = () => {};
  /** counts a task's outcome and its time since the claim started running here */
  const finished = (task: queue.ClaimedTask, entry: Running, outcome: TaskOutcome) =>
    metrics.taskFinished(task.type, entry.provider.name, outcome, (performance.now() - entry.started) / 1000);

  for (const [type, name] of Object.entries(o.routes)) {
    const p = byName.get(name!);
    if (!p) throw new Error(`route ${type}=${name}: no such provider`);
    if (!p.types.includes(type as TaskType)) throw new Error(`route ${type}=${name}: ${name} does not serve ${type}`);
  }

  const leaseUntil = () => new Date(o.clock.now().getTime() + o.leaseMs);
  const providerFor = (type: TaskType) => byName.get(o.routes[type] ?? '');
  /** the types whose provider has a free slot */
  const freeTypes = () =>
    TASK_TYPES.filter((t) => {
      const p = providerFor(t);
      return p && (busy.get(p.name) ?? 0) < p.concurrency;
    });

  async function pumpOnce() {
    for (;;) {
      if (stopped) return;
      const types = freeTypes();
      if (types.length === 0) return;
      const task = await queue.claim(o.db, types, leaseUntil());
      if (!task) return;
      const p = run(task).finally(() => {
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
          o.log.error('runner: claiming work failed', e);
        }
      } while (again && !stopped);
      pumping = null;
    })();
  }

  async function loadReferences(ids: string[]) {
    if (ids.length === 0) return [];
    const rows = await o.db.select({ id: files.id, key: files.key, mime: files.mime }).from(files).where(inArray(files.id, ids));
    const byId = new Map(rows.map((r) => [r.id, r]));
    return Promise.all(
      ids.map(async (id) => {
        const f = byId.get(id);
        if (!f) throw new ProviderRefusal('参考图片不存在', `reference ${id} is gone`);
        let bytes: Uint8Array;
        try {
          bytes = await o.storage.read(f.key);
        } catch (e) {
          if (e instanceof StorageNotFoundError) throw new ProviderRefusal('参考图片不存在', `reference ${id}: ${e.message}`);
          throw e;
        }
        return { bytes, mime: f.mime, name: f.key.split('/').pop()! };
      }),
    );
  }

  /**
   * Reviews the output (outputs the moderation service refuses are never stored), labels it (AIGC_LABEL), stores
   * it under the task's result key and completes the claim — or holds it for a person's review.
   */
  async function store(task: queue.ClaimedTask, out: ProviderOutput, signal: AbortSignal) {
    const raw = out.bytes;
    if (raw.byteLength === 0 || raw.byteLength > maxOutput) throw new ProviderRefusal(MSG_BAD_OUTPUT, `output of ${raw.byteLength} bytes`);
    const rawKind = sniffMedia(raw);
    const want = isVideoType(task.type) ? 'video' : 'image';
    if (!rawKind || rawKind.kind !== want) throw new ProviderRefusal(MSG_BAD_OUTPUT, `output is ${rawKind?.mime ?? 'not a known media type'}, ${want} expected`);
    const verdict = await reviewOutput(task, out, rawKind, signal);
    if (verdict.decision === 'reject') {
      throw verdict.unavailable ? new OutputRejected(MSG_REVIEW_UNAVAILABLE, false) : new OutputRejected(MSG_OUTPUT_REJECTED, true);
    }
    let labelled: { bytes: Uint8Array; kind: MediaKind };
    try {
      labelled = await o.labeller.apply(raw, rawKind, task.id, { marked: out.marked === true, signal });
    } catch (e) {
      if (signal.aborted) throw signal.reason;
      throw new LabelError(`labelling failed: ${(e as Error).message}`);
    }
    const { bytes, kind } = labelled;
    const where = o.resultLocation(task.id, kind.ext);
    await o.storage.put(where.key, bytes, { type: kind.mime });
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    const claim = { id: task.id, attempt: task.attempt };
    const result = { ...where, mime: kind.mime, sha256, size: bytes.byteLength };
    const held = verdict.decision === 'review' || task.reviewRequired;
    const done = held ? await queue.hold(o.db, claim, result, MSG_HELD, o.clock.now()) : await queue.complete(o.db, claim, result, o.clock.now());
    if (!done) o.log.warn(`task ${task.id}: completed here after it was claimed again or canceled; result not recorded`);
    else if (held) o.log.info(`task ${task.id}: output held for review`);
    return done ? (held ? 'held' : 'completed') : null;
  }

  /** The output's verdict (recorded for audit): images as they are, videos by sampled frames. */
  async function reviewOutput(task: queue.ClaimedTask, out: ProviderOutput, kind: MediaKind, signal: AbortSignal): Promise<Verdict> {
    const m = o.moderator;
    if (m.mode === 'none') return { decision: 'approve', provider: 'none', categories: [], scores: {}, message: null };
    let images: { bytes: Uint8Array; mime: string }[] = [];
    let verdict: Verdict;
    if (!m.checksImages) verdict = await m.checkImages([], undefined, signal);
    else {
      if (kind.kind === 'image') images = [{ bytes: out.bytes, mime: kind.mime }];
      else {
        const frames = out.sampleFrames?.length ? out.sampleFrames : await o.labeller.sampleFrames(out.bytes, SAMPLE_FRAMES).catch(() => null);
        images = (frames ?? []).map((f) => ({ bytes: f, mime: 'image/png' }));
      }
      verdict = images.length ? await m.checkImages(images, undefined, signal) : m.unchecked('no frames could be sampled from the video');
    }
    const subject = subjectOf({ files: [out.bytes] });
    await recordVerdict(o.db, o.clock, { taskId: task.id, userId: task.userId, stage: 'output', verdict, subject });
    if (verdict.decision !== 'approve') o.log.warn(`task ${task.id}: output review: ${verdict.decision} (${verdict.provider}: ${verdict.categories.join(', ') || verdict.detail || '-'})`);
    return verdict;
  }

  async function run(task: queue.ClaimedTask) {
    const claim = { id: task.id, attempt: task.attempt };
    // a job that an earlier claim submitted is resumed with the same provider, if this instance has it
    const resumeWith = task.provider && task.providerJob != null ? byName.get(task.provider) : undefined;
    const provider = resumeWith ?? providerFor(task.type)!;
    const resume = resumeWith ? task.providerJob : null;
    busy.set(provider.name, (busy.get(provider.name) ?? 0) + 1);
    const controller = new AbortController();
    const entry: Running = { claim, provider, controller, job: resume, started: performance.now() };
    running.set(task.id, entry);
    const started = performance.now();
    const timer = setTimeout(() => controller.abort({ kind: 'timeout' } satisfies Stop), o.taskTimeoutMs);
    let lastProgress = { at: 0, value: -1, queue: -2 };
    const ctx: ProviderContext = {
      signal: controller.signal,
      resume,
      async saveJob(state) {
        entry.job = state;
        if (!(await queue.saveJob(o.db, claim, provider.name, state))) {
          controller.abort({ kind: 'lost' } satisfies Stop);
          throw controller.signal.reason;
        }
      },
      progress(p) {
        const now = Date.now();
        const value = p.progress ?? lastProgress.value;
        const qp = p.queuePosition === undefined ? lastProgress.queue : p.queuePosition ?? -1;
        if (value === lastProgress.value && qp === lastProgress.queue) return;
        if (now - lastProgress.at < progressEveryMs && value !== 100) return;
        lastProgress = { at: now, value, queue: qp };
        queue.reportProgress(o.db, claim, p).catch((e) => o.log.warn(`task ${task.id}: progress not recorded: ${(e as Error).message}`));
      },
      log: o.log,
    };
    try {
      if (!resume && !(await queue.saveJob(o.db, claim, provider.name, null))) return; // canceled meanwhile
      const job = {
        taskId: task.id,
        type: task.type,
        prompt: task.prompt,
        parameters: task.parameters,
        references: await loadReferences(task.referenceFiles),
        visibleLabel: o.labeller.mode === 'full',
        sampleFrames: o.moderator.checksImages && isVideoType(task.type) ? SAMPLE_FRAMES : 0,
      };
      const out = await provider.run(job, ctx);
      if (controller.signal.aborted) throw controller.signal.reason;
      const outcome = await store(task, out, controller.signal);
      if (outcome) {
        finished(task, entry, outcome);
        o.log.info(`task ${task.id} completed by ${provider.name} in ${Math.round(performance.now() - started)} ms (${out.bytes.byteLength} bytes)`);
      }
    } catch (e) {
      await settleFailure(task, entry, e);
    } finally {
      clearTimeout(timer);
      running.delete(task.id);
      busy.set(provider.name, (busy.get(provider.name) ?? 1) - 1);
    }
  }

  async function settleFailure(task: queue.ClaimedTask, entry: Running, e: unknown) {
    const claim = entry.claim;
    const reason = (entry.controller.signal.aborted ? entry.controller.signal.reason : null) as Stop | null;
    const now = () => o.clock.now();
    try {
      switch (reason?.kind) {
        case 'cancel':
          finished(task, entry, 'canceled');
          o.log.info(`task ${task.id} canceled`);
          if (entry.job != null && entry.provider.cancel) {
            await entry.provider.cancel(entry.job, o.log).catch((err) => o.log.warn(`task ${task.id}: telling ${entry.provider.name} about the cancel failed: ${(err as Error).message}`));
          }
          return;
        case 'lost':
          o.log.warn(`task ${task.id}: claim ${claim.attempt} lost (claimed again elsewhere); its work here is dropped`);
          return;
        case 'stop':
          await queue.requeue(o.db, [claim]); // the saved provider job stays: the next claim resumes it
          return;
        case 'timeout':
          o.log.warn(`task ${task.id}: timed out after ${o.taskTimeoutMs} ms`);
          if (entry.job != null && entry.provider.cancel) await entry.provider.cancel(entry.job, o.log).catch(() => {});
          if (await queue.fail(o.db, claim, MSG_TIMEOUT(o.taskTimeoutMs), now())) finished(task, entry, 'failed');
          return;
      }
      let message: string;
      if (e instanceof OutputRejected) {
        o.log.warn(`task ${task.id}: output ${e.rejected ? 'rejected by review' : 'not reviewed (moderation unavailable, MODERATION_FAIL=closed)'}`);
        if (await queue.fail(o.db, claim, e.message, now(), e.rejected)) finished(task, entry, e.rejected ? 'rejected' : 'failed');
        return;
      } else if (e instanceof LabelError) {
        message = MSG_LABEL_FAILED;
        o.log.error(`task ${task.id}: ${e.message}`);
      } else if (e instanceof ProviderRefusal) {
        message = e.userMessage;
        o.log.warn(`task ${task.id}: ${entry.provider.name} refused it: ${shortError(e.detail)}`);
      } else if (e instanceof ProviderUnavailable) {
        message = MSG_UNAVAILABLE;
        o.log.warn(`task ${task.id}: ${entry.provider.name} unavailable: ${shortError(e.message)}`);
      } else if (e instanceof StorageFullError) {
        message = MSG_DISK_FULL;
        o.log.error(`task ${task.id}: no space left to store its result`);
      } else if (e instanceof StorageUnavailableError) {
        message = MSG_STORAGE_UNAVAILABLE;
        o.log.error(`task ${task.id}: ${e.message}`);
      } else if (entry.provider.name === 'local') {
        message = shortError((e as Error)?.message ?? String(e)); // the engine's own messages are meant for users
        o.log.warn(`task ${task.id} failed: ${message}`);
      } else {
        message = MSG_FAILED;
        o.log.error(`task ${task.id}: ${entry.provider.name} failed`, e);
      }
      if (await queue.fail(o.db, claim, message, now())) finished(task, entry, 'failed');
    } catch (err) {
      o.log.error(`task ${task.id}: could not record the outcome`, err);
    }
  }

  /** Keeps the leases of running claims alive; aborts the ones that are no longer ours. */
  async function heartbeat() {
    const claims = [...running.values()].map((r) => r.claim);
    const lost = await queue.heartbeat(o.db, claims, leaseUntil());
    if (lost.length === 0) return;
    const rows = await o.db.select({ id: tasks.id, canceled: tasks.canceled }).from(tasks).where(inArray(tasks.id, lost));
    for (const r of rows) running.get(r.id)?.controller.abort({ kind: r.canceled ? 'cancel' : 'lost' } satisfies Stop);
  }

  async function sweep() {
    const { requeued } = await queue.sweep(o.db, o.clock.now(), o.maxAttempts);
    if (requeued.length) {
      o.log.warn(`re-queued ${requeued.length} interrupted task(s)`);
      wake();
    }
  }

  const every = (ms: number, fn: () => Promise<void>, what: string) => {
    const t = setInterval(() => fn().catch((e) => o.log.error(`runner: ${what} failed`, e)), ms);
    t.unref?.();
    timers.push(t);
  };

  return {
    get running() {
      return running.size;
    },
    async start() {
      stopped = false;
      unregister = metrics.addRunner({ get running() { return running.size; } });
      for (const p of o.providers) await p.start?.();
      await sweep();
      if (o.database) {
        unlisten.push(await o.database.listen(queue.CHANNEL_WORK, () => wake()));
        unlisten.push(
          await o.database.listen(queue.CHANNEL_CANCEL, (id) => running.get(id)?.controller.abort({ kind: 'cancel' } satisfies Stop)),
        );
      }
      every(Math.max(50, Math.floor(o.leaseMs / 3)), heartbeat, 'heartbeat');
      every(Math.max(50, Math.floor(o.leaseMs / 2)), sweep, 'sweep');
      every(o.pollMs, async () => wake(), 'poll');
      wake();
    },
    wake,
    async stop(graceMs = 10_000) {
      if (stopped) return;
      stopped = true;
      for (const t of timers) clearInterval(t);
      timers.length = 0;
      for (const u of unlisten.splice(0)) await u().catch(() => {});
      await pumping;
      const all = Promise.all([...inflight]);
      const timedOut = await Promise.race([all.then(() => false), new Promise<boolean>((r) => setTimeout(() => r(true), graceMs).unref?.())]);
      if (timedOut) {
        // give unfinished work back to the queue (remote jobs keep their saved state and are resumed)
        for (const r of running.values()) r.controller.abort({ kind: 'stop' } satisfies Stop);
        await all;
      }
      for (const p of o.providers) await p.stop?.();
      unregister();
    },
  };
}
