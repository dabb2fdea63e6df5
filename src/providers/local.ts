// The `local` provider: the built-in procedural engine (src/engine/local) in Bun Workers, one task per worker.
// It serves every task type offline, inside the single binary. A worker that crashes fails only its task and
// is replaced; an abort (cancel, timeout, stop) terminates the worker at once and starts a fresh one.
import type { WorkerPriority } from '../config';
import type { JobRequest, WorkerMessage } from '../engine/protocol';
import { TASK_TYPES } from '../tasks';
import type { GenerationProvider, ProviderContext, ProviderJob, ProviderOutput } from './types';

export interface LocalProviderOptions {
  /** worker threads, i.e. tasks at once */
  size: number;
  /** CPU priority of the worker threads (see WORKER_PRIORITY) */
  priority?: WorkerPriority;
  /** worker entry; defaults to the built-in engine worker */
  workerUrl?: string;
}

/** In the compiled binary the worker is an extra entrypoint, addressed from the bundle root (scripts/build.ts). */
function defaultWorkerUrl(): string {
  return import.meta.url.includes('$bunfs') ? './src/engine/worker.ts' : new URL('../engine/worker.ts', import.meta.url).href;
}

interface Slot {
  worker: Worker;
  busy: boolean;
  /** the running job's callbacks */
  onMessage: ((m: WorkerMessage) => void) | null;
  onDeath: ((why: string) => void) | null;
}

export function createLocalProvider(o: LocalProviderOptions): GenerationProvider {
  const url = o.workerUrl ?? defaultWorkerUrl();
  const slots: Slot[] = [];
  let stopped = false;

  const spawn = (slot: Slot) => {
    const worker = new Worker(url);
    slot.worker = worker;
    worker.onmessage = (ev: MessageEvent<WorkerMessage>) => {
      if (slot.worker === worker) slot.onMessage?.(ev.data);
    };
    const died = (why: string) => {
      if (slot.worker !== worker) return; // already replaced
      worker.terminate();
      const onDeath = slot.onDeath;
      if (!stopped) spawn(slot);
      onDeath?.(why);
    };
    worker.onerror = (ev) => {
      ev.preventDefault?.();
      died(`生成进程异常退出 / worker crashed: ${ev.message ?? 'error'}`);
    };
    worker.addEventListener('close', () => died('生成进程异常退出 / worker exited'));
  };

  const ensureSlots = () => {
    while (slots.length < o.size) {
      const slot: Slot = { worker: undefined as unknown as Worker, busy: false, onMessage: null, onDeath: null };
      spawn(slot);
      slots.push(slot);
    }
  };

  return {
    name: 'local',
    types: TASK_TYPES,
    concurrency: o.size,
    async start() {
      stopped = false;
      ensureSlots();
    },
    async stop() {
      stopped = true;
      for (const s of slots) {
        s.onDeath = null;
        s.onMessage = null;
        s.worker.terminate();
      }
      slots.length = 0;
    },
    run(job: ProviderJob, ctx: ProviderContext): Promise<ProviderOutput> {
      ensureSlots();
      const slot = slots.find((s) => !s.busy);
      if (!slot) return Promise.reject(new Error('local provider: no free worker'));
      slot.busy = true;
      return new Promise<ProviderOutput>((resolve, reject) => {
        const done = () => {
          slot.busy = false;
          slot.onMessage = null;
          slot.onDeath = null;
          ctx.signal.removeEventListener('abort', onAbort);
        };
        const onAbort = () => {
          done();
          // the work is dropped with the thread; a fresh worker takes the next task
          const worker = slot.worker;
          slot.worker = undefined as unknown as Worker;
          worker.terminate();
          if (!stopped) spawn(slot);
          reject(ctx.signal.reason);
        };
        if (ctx.signal.aborted) return onAbort();
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
        };
        slot.worker.postMessage(request, request.references.map((b) => b.buffer as ArrayBuffer));
      });
    },
  };
}
