import type { WorkerPriority } from '../config';
import type { TaskType } from '../tasks';

/** Messages between the local provider (main thread) and a generation worker. */
export interface JobRequest {
  taskId: string;
  type: TaskType;
  prompt: string;
  parameters: Record<string, unknown>;
  references: Uint8Array[];
  /** draw the visible AI-content mark on the output (AIGC_LABEL=full) */
  visibleLabel: boolean;
  /** videos: how many frames to return as PNG for content review (0 = none) */
  sampleFrames: number;
  /** the CPU priority the worker thread should run at (Linux; ignored elsewhere) */
  priority: WorkerPriority;
  /** videos: may encode on a second thread while rendering (a core is free for it, see providers/local.ts) */
  encoderThread: boolean;
}

export type JobResult =
  | { taskId: string; ok: true; bytes: Uint8Array; ext: 'png' | 'mp4'; mime: string; ms: number; marked: boolean; sampleFrames: Uint8Array[] }
  | { taskId: string; ok: false; error: string };

/** Sent while a video renders: the share of frames done, 0–1. */
export interface JobProgress {
  taskId: string;
  progress: number;
}

export type WorkerMessage = JobResult | JobProgress;
