// A generation worker: receives one JobRequest at a time, runs the built-in engine, posts a JobResult.
import { runLocalEngine } from './local';
import type { JobRequest, JobResult } from './protocol';

declare const self: Worker;

self.onmessage = async (event: MessageEvent<JobRequest>) => {
  const job = event.data;
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
