// The `dashscope` provider: Alibaba Cloud Model Studio (DashScope), Wan / 通义万相 models, through the asynchronous
// HTTP API. Every type is one task:
//   POST {base}/api/v1/services/aigc/<group>/<function>   (header X-DashScope-Async: enable)
//        → { output: { task_id, task_status: "PENDING" }, request_id }
//   GET  {base}/api/v1/tasks/{task_id}
//        → output.task_status PENDING | RUNNING | SUSPENDED | SUCCEEDED | FAILED | CANCELED | UNKNOWN;
//          images in output.results[].url, a video in output.video_url; a failed task has output.code / message
//   POST {base}/api/v1/tasks/{task_id}/cancel   (only a PENDING task can be canceled)
// Errors are { code, message, request_id } with an HTTP status (400 InvalidParameter / DataInspectionFailed,
// 401 InvalidApiKey, 429 Throttling…, 500 InternalError…). Result links are signed OSS URLs valid for 24 hours.
// References go inline as data URLs (the API takes a URL or `data:{mime};base64,{data}`).
//
// Endpoints and inputs per type (defaults in parentheses):
//   t2i  text2image/image-synthesis      (wan2.2-t2i-flash)   input.prompt; parameters.size "W*H", n, seed
//   i2i  image2image/image-synthesis     (wanx2.1-imageedit)  input.function "description_edit", base_image_url;
//        other models there (wan2.5-i2i-preview…) take input.images[]
//   t2v  video-generation/video-synthesis (wan2.2-t2v-plus)   input.prompt; parameters.size "W*H", duration, seed
//   i2v  video-generation/video-synthesis (wan2.2-i2v-flash)  input.img_url (first frame)
import type { Logger } from '../logger';
import { type TaskType, isVideoType } from '../tasks';
import {
  type PollBackoff,
  brief,
  baseUrlSetting,
  dataUrl,
  intSetting,
  keyReference,
  modelSettings,
  num,
  promptWithStyle,
  refuseInvalid,
  refuseSafety,
  requiredSecret,
  runAsyncJob,
  savedObject,
  servedTypes,
  size,
  str,
  unknownParameters,
} from './async-job';
import { downloadOutput, fetchRetrying, jsonOrNull, safeUrl } from './http';
import type { Env, ProviderEntry, ProviderRuntime } from './registry';
import { type GenerationProvider, type ProviderContext, type ProviderJob, type ProviderOutput, ProviderUnavailable } from './types';

export interface DashScopeSettings {
  apiKey: string;
  /** e.g. https://dashscope.aliyuncs.com (Beijing) or https://dashscope-intl.aliyuncs.com (Singapore) */
  baseUrl: string;
  /** the model of each type; null = not served */
  models: Record<TaskType, string | null>;
  concurrency: number;
  /** polling backoff (tests make it fast) */
  poll?: PollBackoff;
}

export const DASHSCOPE_DEFAULT_MODELS: Record<TaskType, string> = {
  t2i: 'wan2.2-t2i-flash',
  i2i: 'wanx2.1-imageedit',
  t2v: 'wan2.2-t2v-plus',
  i2v: 'wan2.2-i2v-flash',
};

const PATHS: Record<TaskType, string> = {
  t2i: '/api/v1/services/aigc/text2image/image-synthesis',
  i2i: '/api/v1/services/aigc/image2image/image-synthesis',
  t2v: '/api/v1/services/aigc/video-generation/video-synthesis',
  i2v: '/api/v1/services/aigc/video-generation/video-synthesis',
};

/** What is saved after submit: enough to poll and cancel the task after a restart. */
interface DashScopeJob {
  taskId: string;
  type: TaskType;
  model: string;
}

/**
 * DashScope's error codes ({code, message}) in our terms: a safety refusal, input the service does not accept, or
 * the service being unavailable to us (bad key, no quota, arrears, its own failure).
 */
function failure(what: string, status: number | null, code: unknown, message: unknown): Error {
  const c = typeof code === 'string' ? code : '';
  const detail = `${what}: ${status ? `HTTP ${status} ` : ''}${c || '(no code)'}: ${brief(message ?? '')}`;
  // DataInspectionFailed: the input or output was judged inappropriate; IPInfringementSuspect: a suspected IP issue
  if (/^(DataInspectionFailed|data_inspection_failed|IPInfringementSuspect)/i.test(c)) {
    return refuseSafety(detail);
  }
  if (/^(InvalidParameter|BadRequest|InvalidURL|InvalidFile)/i.test(c)) return refuseInvalid(detail);
  return new ProviderUnavailable(detail);
}

export function createDashScopeProvider(s: DashScopeSettings, rt: Pick<ProviderRuntime, 'maxOutputBytes' | 'downloadTimeoutMs'>): GenerationProvider {
  const auth = { authorization: `Bearer ${s.apiKey}` };
  const taskUrl = (id: string) => `${s.baseUrl}/api/v1/tasks/${encodeURIComponent(id)}`;

  /** The JSON body of each type's task. */
  function body(job: ProviderJob, model: string): Record<string, unknown> {
    const p = job.parameters;
    const input: Record<string, unknown> = { prompt: promptWithStyle(job) };
    const negative = str(p, 'negative_prompt');
    if (negative) input.negative_prompt = negative;
    // unknown keys are the model's own parameters (prompt_extend, watermark, resolution…)
    const parameters: Record<string, unknown> = {};
    const seed = num(p, 'seed');
    if (seed !== undefined) parameters.seed = seed;
    const wh = size(p);
    switch (job.type) {
      case 't2i':
        parameters.n = 1;
        if (wh) parameters.size = `${wh.width}*${wh.height}`;
        break;
      case 'i2i': {
        const ref = dataUrl(keyReference(job));
        parameters.n = 1;
        if (/^wanx2\.1-imageedit/.test(model)) {
          // the general image-editing model: one base image and an editing function
          input.function = str(p, 'function') ?? 'description_edit';
          input.base_image_url = ref;
          const strength = num(p, 'strength');
          if (strength !== undefined) parameters.strength = strength;
        } else {
          input.images = job.references.map((r) => dataUrl(r));
          if (wh) parameters.size = `${wh.width}*${wh.height}`;
        }
        break;
      }
      case 't2v':
        if (wh) parameters.size = `${wh.width}*${wh.height}`;
        if (num(p, 'duration') !== undefined) parameters.duration = Math.round(num(p, 'duration')!);
        break;
      case 'i2v':
        input.img_url = dataUrl(keyReference(job));
        if (num(p, 'duration') !== undefined) parameters.duration = Math.round(num(p, 'duration')!);
        break;
    }
    const extra = unknownParameters(p);
    delete extra.function; // went to input (image editing)
    return { model, input, parameters: { ...parameters, ...extra } };
  }

  async function submit(job: ProviderJob, model: string, ctx: ProviderContext): Promise<DashScopeJob> {
    const what = `dashscope ${job.type} submit`;
    const res = await fetchRetrying(
      `${s.baseUrl}${PATHS[job.type]}`,
      {
        method: 'POST',
        headers: { ...auth, 'content-type': 'application/json', 'x-dashscope-async': 'enable' },
        body: JSON.stringify(body(job, model)),
      },
      { signal: ctx.signal, log: ctx.log, what, idempotent: false },
    );
    const data = await jsonOrNull(res);
    if (!res.ok) throw failure(what, res.status, data?.code, data?.message);
    const taskId = data?.output?.task_id;
    if (typeof taskId !== 'string' || !taskId) throw new ProviderUnavailable(`${what}: no task_id in the answer (${brief(data)})`);
    return { taskId, type: job.type, model };
  }

  /** The first output link of a succeeded task: output.results[].url (images) or output.video_url. */
  function outputUrl(job: DashScopeJob, output: any): string {
    if (isVideoType(job.type)) {
      const url = output?.video_url ?? output?.results?.video_url;
      if (typeof url === 'string' && url) return url;
    } else {
      const results: any[] = Array.isArray(output?.results) ? output.results : [];
      const ok = results.find((r) => typeof r?.url === 'string' && r.url);
      if (ok) return ok.url;
      // every image of the task failed on its own (each result then carries code/message)
      const bad = results.find((r) => r?.code);
      if (bad) throw failure(`dashscope task ${job.taskId}`, null, bad.code, bad.message);
    }
    throw new ProviderUnavailable(`dashscope task ${job.taskId} succeeded without an output link (${brief(output)})`);
  }

  return {
    name: 'dashscope',
    types: servedTypes(s.models),
    concurrency: s.concurrency,
    async run(job, ctx): Promise<ProviderOutput> {
      const model = s.models[job.type];
      if (!model) throw new ProviderUnavailable(`dashscope does not serve ${job.type} (no model configured)`);
      const url = await runAsyncJob<DashScopeJob, string>(ctx, {
        what: `dashscope ${job.type} (task ${job.taskId})`,
        backoff: s.poll,
        submit: () => submit(job, model, ctx),
        restore: (saved) => {
          const o = savedObject(saved, 'dashscope', ['taskId', 'type', 'model'] as const);
          return { taskId: o.taskId, type: o.type as TaskType, model: o.model };
        },
        idOf: (st) => st.taskId,
        async poll(st) {
          const what = `dashscope task ${st.taskId}`;
          const res = await fetchRetrying(taskUrl(st.taskId), { headers: auth }, { signal: ctx.signal, log: ctx.log, what });
          const data = await jsonOrNull(res);
          if (!res.ok) throw failure(what, res.status, data?.code, data?.message);
          const output = data?.output ?? {};
          switch (output.task_status) {
            case 'PENDING':
            case 'RUNNING':
            case 'SUSPENDED':
              return { done: false };
            case 'SUCCEEDED':
              return { done: true, result: outputUrl(st, output) };
            case 'FAILED':
              throw failure(what, null, output.code, output.message);
            case 'CANCELED':
              throw new ProviderUnavailable(`${what} was canceled at the provider`);
            default:
              // UNKNOWN: the task does not exist (any more: task ids live 24 hours) or its state is unknown
              throw new ProviderUnavailable(`${what}: status ${brief(output.task_status ?? 'missing')}`);
          }
        },
      });
      const out = await downloadOutput(url, { maxBytes: rt.maxOutputBytes, timeoutMs: rt.downloadTimeoutMs }, {
        signal: ctx.signal,
        log: ctx.log,
        what: `dashscope ${job.type} output`,
      });
      ctx.log.info(`dashscope ${job.type} (task ${job.taskId}): output copied from ${safeUrl(url)} (${out.bytes.byteLength} bytes)`);
      return { bytes: out.bytes, mime: out.mime ?? undefined };
    },
    async cancel(state, log: Logger) {
      const st = state as Partial<DashScopeJob> | null;
      if (!st?.taskId) return;
      // DashScope cancels only PENDING tasks; a running one finishes (and is paid for) but its result is dropped
      const res = await fetch(`${taskUrl(st.taskId)}/cancel`, { method: 'POST', headers: auth, signal: AbortSignal.timeout(10_000) });
      const data = await jsonOrNull(res);
      if (res.ok) log.info(`dashscope task ${st.taskId}: canceled at the provider`);
      else log.warn(`dashscope task ${st.taskId}: cancel answered HTTP ${res.status} ${brief(data?.code ?? '')}: ${brief(data?.message ?? '')}`);
    },
  };
}

export const dashscopeProvider: ProviderEntry<DashScopeSettings> = {
  settings(env: Env): DashScopeSettings {
    return {
      apiKey: requiredSecret(env, 'DASHSCOPE_API_KEY', 'dashscope'),
      baseUrl: baseUrlSetting(env, 'DASHSCOPE_BASE_URL', 'https://dashscope.aliyuncs.com'),
      models: modelSettings(env, 'dashscope', 'DASHSCOPE', DASHSCOPE_DEFAULT_MODELS),
      concurrency: intSetting(env, 'DASHSCOPE_CONCURRENCY', 2, 1, 1000),
    };
  },
  create: (s, rt) => createDashScopeProvider(s, rt),
};
