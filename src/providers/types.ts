// The provider seam (issue 11): the runner (src/generation/runner.ts) hands each claimed task to the
// GenerationProvider that the task type is routed to (GENERATION_ROUTES). The built-in engine is the `local`
// provider; remote providers speak their public HTTP APIs with fetch, in-process.
import type { Logger } from '../logger';
import type { TaskType } from '../tasks';

export interface ProviderReference {
  bytes: Uint8Array;
  /** image/png, image/jpeg, image/webp or image/gif (checked at upload) */
  mime: string;
  /** a file name for protocols that want one, e.g. `ref_0123….png` */
  name: string;
}

/** One task, as a provider sees it. */
export interface ProviderJob {
  taskId: string;
  type: TaskType;
  prompt: string;
  /** validated known keys (width, height, seed, steps, strength, duration, fps, negative_prompt, style) and unknown ones */
  parameters: Record<string, unknown>;
  /** the key image first; empty for t2i/t2v unless the user sent some */
  references: ProviderReference[];
  /**
   * AIGC_LABEL=full: the output must carry the visible "AI生成" mark. A provider that draws it itself (the local
   * engine) says so with `ProviderOutput.marked`; otherwise the runner stamps the output after it arrives.
   */
  visibleLabel: boolean;
  /** videos: how many frames to return as PNG in `ProviderOutput.sampleFrames` for review (0 = none); best effort */
  sampleFrames: number;
}

export interface ProviderContext {
  /** aborted when the task is canceled, times out, is claimed elsewhere, or the instance stops: stop at once */
  signal: AbortSignal;
  /**
   * The job state this provider saved during an earlier claim of the same task (the instance died or stopped),
   * or null. When set, resume that job (poll it); never submit the task again.
   */
  resume: unknown;
  /**
   * Stores the provider's job state (its job id, at least) durably, owner-checked. Call it right after the
   * provider accepted the job and before the first poll. Rejects when the claim is no longer ours (stop then).
   */
  saveJob(state: unknown): Promise<void>;
  /** progress 0–100 and/or the position in the provider's queue, when the provider reports them; best effort */
  progress(p: { progress?: number | null; queuePosition?: number | null }): void;
  log: Logger;
}

/** What a provider returns: exactly the bytes of its output, and their MIME type if it said. */
export interface ProviderOutput {
  bytes: Uint8Array;
  mime?: string;
  /** the visible AI-content mark is already drawn (the job asked for it and this provider can draw it) */
  marked?: boolean;
  /** videos: a few frames as PNG, for review of the output where the moderation service takes images only */
  sampleFrames?: Uint8Array[];
}

export interface GenerationProvider {
  /** the name used in GENERATION_ROUTES */
  readonly name: string;
  /** the task types it can run */
  readonly types: readonly TaskType[];
  /** how many tasks it runs at once on this instance */
  readonly concurrency: number;
  run(job: ProviderJob, ctx: ProviderContext): Promise<ProviderOutput>;
  /** tells the provider a job was canceled, where its API allows (best effort; `state` is what saveJob stored) */
  cancel?(state: unknown, log: Logger): Promise<void>;
  start?(): Promise<void>;
  stop?(): Promise<void>;
}

/**
 * The provider refused the task (its safety system, invalid input, unsupported parameters): the task fails with
 * `userMessage` (short, Chinese); `detail` (the provider's own words) goes to the log only.
 */
export class ProviderRefusal extends Error {
  constructor(
    readonly userMessage: string,
    readonly detail: string,
  ) {
    super(detail);
  }
}

/** The provider could not be reached or kept failing (after retries); the task fails with a generic message. */
export class ProviderUnavailable extends Error {}
