// The `local` provider: the built-in procedural engine (src/engine/local) in Bun Workers, one task per worker.
// It serves every task type offline, inside the single binary. A worker starts when a task first needs it (its
// start, about 40 ms of CPU, is not paid by an instance whose tasks all go to remote providers, nor again by every
// runner a test creates) and then stays for the next tasks. A worker that crashes fails only its task; an abort
// (cancel, timeout, stop) terminates it at once. Either way the next task starts a fresh one.
//
// A video renders on its worker and encodes on a second thread of that worker (engine/local/video.ts) only while a
// core is free for that thread: counting one thread per running task and two per video with an encoder thread, a
// video gets one when its two fit into `cores`, else it encodes inline. When every core already runs a generation
// thread the second thread adds no throughput, only more threads to switch between — and, measured on 2 cores with
// both workers generating (the bench's paced poll load, scratch runs after a fresh server's first round; README,
// Benchmarks), a poll p99 of 3.6–5.5 ms instead of 1.4–2.7 ms: the woken HTTP thread waited behind the four
// idle-priority threads. The bytes are the same.
import { availableParallelism } from 'node:os';
import type { WorkerPriority } from '../config';
import type { JobRequest, WorkerMessage } from '../engine/protocol';
import { TASK_TYPES } from '../tasks';
import type { GenerationProvider, ProviderContext, ProviderJob, ProviderOutput } from './types';
import { workerEntry } from '../worker-entry';

export interface LocalProviderOptions {
  /** worker threads, i.e. tasks at once */
  size: number;
  /** CPU priority of the worker threads (see WORKER_PRIORITY) */
  priority?: WorkerPriority;
  /** worker entry; defaults to the built-in engine worker */
  workerUrl?: string;
  /** the worker threads' name (what `top -H` shows; at most 15 characters on Linux), `aigc-engine` by default */
  threadName?: string;
  /** the cores generation threads may fill (see above); the machine's by default */
  cores?: number;
}

interface Slot {
  /** none until a task needs one, and again after a crash or an abort */
  worker: Worker | undefined;
  busy: boolean;
  /** the generation threads its task runs on: 0 when free, 1, or 2 for a video with an encoder thread */
  threads: number;
  /** the running job's callbacks */
  onMessage: ((m: WorkerMessage) => void) | null;
  onDeath: ((why: string) => void) | null;
}

export function createLocalProvider(o: LocalProviderOptions): GenerationProvider {
  const url = o.workerUrl ?? workerEntry('src/engine/worker.ts');
  const slots: Slot[] = [];
  const cores = Math.max(1, o.cores ?? availableParallelism());

  /** ends the slot's worker, if it has one; the next task on the slot starts a fresh one */
  const drop = (slot: Slot) => {
    const worker = slot.worker;
    slot.worker = undefined;
    worker?.terminate();
  };

  /** the slot's worker, started now if it has none */
  const workerOf = (slot: Slot): Worker => {
    if (slot.worker) return slot.worker;
    const worker = new Worker(url, { name: o.threadName ?? 'aigc-engine' });
    slot.worker = worker;
    worker.onmessage = (ev: MessageEvent<WorkerMessage>) => {
      if (slot.worker === worker) slot.onMessage?.(ev.data);
    };
    const died = (why: string) => {
      if (slot.worker !== worker) return; // already dropped
      drop(slot);
      slot.onDeath?.(why);
    };
    worker.onerror = (ev) => {
      ev.preventDefault?.();
      died(`生成进程异常退出 / worker crashed: ${ev.message ?? 'error'}`);
    };
    worker.addEventListener('close', () => died('生成进程异常退出 / worker exited'));
    return worker;
  };

  /** a slot without a task: one whose worker is up first, else a new slot while there are fewer than `size` */
  const freeSlot = (): Slot | undefined => {
    let free: Slot | undefined;
    for (const s of slots) if (!s.busy && (!free || (!free.worker && s.worker))) free = s;
    if (free || slots.length >= o.size) return free;
    free = { worker: undefined, busy: false, threads: 0, onMessage: null, onDeath: null };
    slots.push(free);
    return free;
  };

  return {
    name: 'local',
    types: TASK_TYPES,
    concurrency: o.size,
    async start() {},
    async stop() {
      for (const s of slots) {
        s.onDeath = null;
        s.onMessage = null;
        drop(s);
      }
      slots.length = 0;
    },
    run(job: ProviderJob, ctx: ProviderContext): Promise<ProviderOutput> {
      const slot = freeSlot();
      if (!slot) return Promise.reject(new Error('local provider: no free worker'));
      slot.busy = true;
      const video = job.type === 't2v' || job.type === 'i2v';
      const used = slots.reduce((n, s) => n + s.threads, 0);
      const encoderThread = video && used + 2 <= cores;
      slot.threads = encoderThread ? 2 : 1;
      return new Promise<ProviderOutput>((resolve, reject) => {
        const done = () => {
          slot.busy = false;
          slot.threads = 0;
          slot.onMessage = null;
          slot.onDeath = null;
          ctx.signal.removeEventListener('abort', onAbort);
        };
        const onAbort = () => {
          done();
          drop(slot); // the work is dropped with the thread
          reject(ctx.signal.reason);
        };
        if (ctx.signal.aborted) {
          // nothing was sent yet: the worker (if one is up) stays for the next task
          done();
          return reject(ctx.signal.reason);
        }
        ctx.signal.addEventListener('abort', onAbort, { once: true });
        slot.onDeath = (why) => {
          done();
          reject(new Error(why));
        };
        slot.onMessage = (m) => {
          if ('progress' in m) return ctx.progress({ progress: Math.floor(m.progress * 100) });
          done();
          if (m.ok) resolve({ bytes: m.bytes, mime: m.mime, marked: m.marked, sampleFrames: m.sampleFrames });
          else reject(new Error(m.error));
        };
        const request: JobRequest = {
          taskId: job.taskId,
          type: job.type,
          prompt: job.prompt,
          parameters: job.parameters,
          references: job.references.map((r) => r.bytes),
          visibleLabel: job.visibleLabel === true,
          sampleFrames: job.sampleFrames ?? 0,
          priority: o.priority ?? 'normal',
          encoderThread,
        };
        workerOf(slot).postMessage(request, request.references.map((b) => b.buffer as ArrayBuffer));
      });
    },
  };
}
