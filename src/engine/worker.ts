// A generation worker: receives one JobRequest at a time, runs the built-in engine, posts a JobResult.
import { readlinkSync } from 'node:fs';
import { setPriority } from 'node:os';
import { runLocalEngine } from './local';
import type { JobRequest, JobResult } from './protocol';

declare const self: Worker;

let niceness = 0;
/**
 * Lowers this thread's priority (Linux: a thread has its own nice value, addressed by its thread id), so that
 * the HTTP thread and the database get the CPU first while every worker generates.
 */
function renice(nice: number) {
  if (nice === niceness) return;
  niceness = nice;
  try {
    const tid = Number(readlinkSync('/proc/thread-self').split('/').pop());
    if (Number.isSafeInteger(tid) && tid > 0) setPriority(tid, nice);
  } catch {
    // no /proc/thread-self (not Linux): the thread keeps the process's priority
  }
}

self.onmessage = async (event: MessageEvent<JobRequest>) => {
  const job = event.data;
  renice(job.nice);
  const started = performance.now();
  let result: JobResult;
  try {
    const out = await runLocalEngine({
      type: job.type,
      prompt: job.prompt,
      parameters: job.parameters,
      references: job.references,
    });
    result = { taskId: job.taskId, ok: true, bytes: out.bytes, ext: out.ext, mime: out.mime, ms: performance.now() - started };
    self.postMessage(result, [out.bytes.buffer as ArrayBuffer]);
    return;
  } catch (e) {
    result = { taskId: job.taskId, ok: false, error: (e as Error)?.message ?? String(e) };
  }
  self.postMessage(result);
};
