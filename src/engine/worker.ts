// A generation worker: receives one JobRequest at a time, runs the built-in engine, posts a JobResult.
import { readlinkSync } from 'node:fs';
import { setPriority } from 'node:os';
import { dlopen, ptr } from 'bun:ffi';
import type { WorkerPriority } from '../config';
import { runLocalEngine } from './local';
import type { JobProgress, JobRequest, JobResult } from './protocol';

declare const self: Worker;

let applied: WorkerPriority = 'normal';
/**
 * Lowers this thread's CPU priority (Linux: policy and nice value are per thread), so that the HTTP thread and the
 * database get the CPU first while every worker generates. `idle`: SCHED_IDLE through libc (pid 0 = this thread);
 * where that fails, nice 19 on this thread's id.
 */
function lowerPriority(priority: WorkerPriority) {
  if (priority === applied) return;
  applied = priority;
  if (priority === 'normal') return;
  if (priority === 'idle') {
    try {
      const libc = dlopen('libc.so.6', { sched_setscheduler: { args: ['i32', 'i32', 'ptr'], returns: 'i32' } });
      const SCHED_IDLE = 5;
      const param = new Int32Array(1); // struct sched_param { int sched_priority = 0 }
      const rc = libc.symbols.sched_setscheduler(0, SCHED_IDLE, ptr(param));
      libc.close();
      if (rc === 0) return;
    } catch {
      // no glibc (e.g. musl) or no FFI: fall back to nice
    }
  }
  try {
    const tid = Number(readlinkSync('/proc/thread-self').split('/').pop());
    if (Number.isSafeInteger(tid) && tid > 0) setPriority(tid, 19);
  } catch {
    // no /proc/thread-self (not Linux): the thread keeps the process's priority
  }
}

self.onmessage = async (event: MessageEvent<JobRequest>) => {
  const job = event.data;
  lowerPriority(job.priority);
  const started = performance.now();
  let result: JobResult;
  try {
    let reported = 0;
    const out = await runLocalEngine({
      type: job.type,
      prompt: job.prompt,
      parameters: job.parameters,
      references: job.references,
      visibleLabel: job.visibleLabel === true,
      sampleFrames: job.sampleFrames ?? 0,
      encoderThread: job.encoderThread !== false,
      // at most one message per 5% of the frames
      onProgress: (done) => {
        if (done - reported < 0.05) return;
        reported = done;
        self.postMessage({ taskId: job.taskId, progress: done } satisfies JobProgress);
      },
    });
    result = { taskId: job.taskId, ok: true, bytes: out.bytes, ext: out.ext, mime: out.mime, ms: performance.now() - started, marked: job.visibleLabel === true, sampleFrames: out.sampleFrames ?? [] };
    self.postMessage(result, [out.bytes.buffer as ArrayBuffer, ...result.sampleFrames.map((f) => f.buffer as ArrayBuffer)]);
    return;
  } catch (e) {
    result = { taskId: job.taskId, ok: false, error: (e as Error)?.message ?? String(e) };
  }
  self.postMessage(result);
};
