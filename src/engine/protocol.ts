import type { WorkerPriority } from '../config';

/** Messages between the pool (main thread) and a generation worker. */
export interface JobRequest {
  taskId: string;
  type: 't2i' | 'i2i' | 't2v' | 'i2v';
  prompt: string;
  parameters: Record<string, unknown>;
  references: Uint8Array[];
  /** the CPU priority the worker thread should run at (Linux; ignored elsewhere) */
  priority: WorkerPriority;
}

export type JobResult =
  | { taskId: string; ok: true; bytes: Uint8Array; ext: 'png' | 'mp4'; mime: string; ms: number }
  | { taskId: string; ok: false; error: string };
