// The `fal` provider: fal.ai's queue API (Authorization: Key <FAL_KEY>).
//   POST {queue}/{model_id}                      body = the model's input
//        → { request_id, status_url, response_url, cancel_url, queue_position? }
//   GET  {queue}/{owner}/{app}/requests/{id}/status   202 while IN_QUEUE (with queue_position) / IN_PROGRESS,
//                                                     200 once COMPLETED
//   GET  {queue}/{owner}/{app}/requests/{id}          the model's output, or its error (e.g. 422 with
//        { detail: [{ loc, msg, type: "content_policy_violation" | … }] }, or { detail, error_type } for platform errors)
//   PUT  {queue}/{owner}/{app}/requests/{id}/cancel   202 CANCELLATION_REQUESTED / 400 ALREADY_COMPLETED / 404
// The status, result and cancel URLs use only the owner and app of the model id (not its endpoint path): the
// submit answer gives them, and we use those (checked to be on the queue's origin, so the key goes nowhere else).
// Outputs are files on fal's CDN (`images[].url`, `video.url`); a model may answer with a data URI instead.
// References go inline as data URIs (`image_url`).
import type { Logger } from '../logger';
import type { TaskType } from '../tasks';
import {
  type PollBackoff,
  brief,
  baseUrlSetting,
  dataUrl,
  decodeDataUrl,
  intSetting,
  keyReference,
  modelSettings,
  num,
  promptWithStyle,
  refuseInvalid,
  refuseSafety,
  requiredSecret,
  runAsyncJob,
  sameOrigin,
  savedObject,
  servedTypes,
  size,
  str,
  unknownParameters,
} from './async-job';
import { downloadOutput, fetchRetrying, jsonOrNull, safeUrl } from './http';
import type { Env, ProviderEntry, ProviderRuntime } from './registry';
import { type GenerationProvider, type ProviderContext, type ProviderJob, type ProviderOutput, ProviderUnavailable } from './types';

export interface FalSettings {
  key: string;
  /** https://queue.fal.run */
  queueUrl: string;
  models: Record<TaskType, string | null>;
  concurrency: number;
  poll?: PollBackoff;
}

export const FAL_DEFAULT_MODELS: Record<TaskType, string> = {
  t2i: 'fal-ai/flux/dev',
  i2i: 'fal-ai/flux/dev/image-to-image',
  t2v: 'fal-ai/wan-t2v',
  i2v: 'fal-ai/wan-i2v',
};

/** What is saved after submit. */
interface FalJob {
  requestId: string;
  type: TaskType;
  model: string;
  statusUrl: string;
  responseUrl: string;
  cancelUrl: string;
}

/** A model id is owner/app[/endpoint path…]. */
const checkModel = (m: string) => (/^[\w.-]+\/[\w.-]+(\/[\w.-]+)*$/.test(m) ? null : 'not a fal model id like fal-ai/flux/dev');

/**
 * A fal error answer in our terms. Model errors: `detail` is a list of typed errors (content_policy_violation is a
 * safety refusal; the rest say the input was not accepted). Platform errors: `detail` is a string with an
 * `error_type` (timeouts, runner failures): the service was unavailable.
 */
function failure(what: string, status: number, data: any): Error {
  const detail = `${what}: HTTP ${status}: ${brief(data ?? '(no body)')}`;
  const items: any[] = Array.isArray(data?.detail) ? data.detail : [];
  if (items.some((e) => e?.type === 'content_policy_violation')) return refuseSafety(detail);
  if (items.length > 0 && status >= 400 && status < 500) return refuseInvalid(detail);
  if ((status === 400 || status === 422) && !data?.error_type) return refuseInvalid(detail);
  return new ProviderUnavailable(detail);
}

export function createFalProvider(s: FalSettings, rt: Pick<ProviderRuntime, 'maxOutputBytes' | 'downloadTimeoutMs'>): GenerationProvider {
  const auth = { authorization: `Key ${s.key}` };

  /** The model's input: the prompt, our known parameters in fal's usual names, and the user's unknown keys. */
  function input(job: ProviderJob): Record<string, unknown> {
    const p = job.parameters;
    const body: Record<string, unknown> = { prompt: promptWithStyle(job) };
    const negative = str(p, 'negative_prompt');
    if (negative) body.negative_prompt = negative;
    const seed = num(p, 'seed');
    if (seed !== undefined) body.seed = seed;
    const steps = num(p, 'steps');
    if (steps !== undefined) body.num_inference_steps = steps;
    const wh = size(p);
    if (job.type === 't2i' || job.type === 'i2i') {
      body.num_images = 1;
      if (wh) body.image_size = wh;
    }
    if (job.type === 'i2i') {
      body.image_url = dataUrl(keyReference(job));
      const strength = num(p, 'strength');
      if (strength !== undefined) body.strength = strength;
    }
    if (job.type === 'i2v') body.image_url = dataUrl(keyReference(job));
    if (job.type === 't2v' || job.type === 'i2v') {
      const fps = num(p, 'fps');
      if (fps !== undefined) body.frames_per_second = fps;
    }
    return { ...body, ...unknownParameters(p) };
  }

  /** {queue}/{owner}/{app}/requests/{id}: where a request's status, result and cancel live. */
  function requestBase(model: string, requestId: string) {
    const [owner, app] = model.split('/');
    return `${s.queueUrl}/${owner}/${app}/requests/${encodeURIComponent(requestId)}`;
  }
  /** A URL from fal's answer if it is on the queue's origin, else the one we build (the key goes only there). */
  const onQueue = (given: unknown, fallback: string) => (typeof given === 'string' && sameOrigin(given, s.queueUrl) ? given : fallback);

  async function submit(job: ProviderJob, model: string, ctx: ProviderContext): Promise<FalJob> {
    const what = `fal ${job.type} submit`;
    const res = await fetchRetrying(
      `${s.queueUrl}/${model}`,
      { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify(input(job)) },
      { signal: ctx.signal, log: ctx.log, what, idempotent: false },
    );
    const data = await jsonOrNull(res);
    if (!res.ok) throw failure(what, res.status, data);
    const requestId = data?.request_id;
    if (typeof requestId !== 'string' || !requestId) throw new ProviderUnavailable(`${what}: no request_id in the answer (${brief(data)})`);
    const base = requestBase(model, requestId);
    if (typeof data.queue_position === 'number') ctx.progress({ queuePosition: data.queue_position });
    return {
      requestId,
      type: job.type,
      model,
      statusUrl: onQueue(data.status_url, `${base}/status`),
      responseUrl: onQueue(data.response_url, base),
      cancelUrl: onQueue(data.cancel_url, `${base}/cancel`),
    };
  }

  /** The output file of a completed request: images[0] (refused when fal's safety checker flagged it) or video. */
  function outputFile(st: FalJob, out: any): string {
    const what = `fal request ${st.requestId}`;
    if (st.type === 't2v' || st.type === 'i2v') {
      const url = out?.video?.url ?? out?.videos?.[0]?.url;
      if (typeof url === 'string' && url) return url;
    } else {
      if (Array.isArray(out?.has_nsfw_concepts) && out.has_nsfw_concepts[0] === true) {
        throw refuseSafety(`${what}: the safety checker flagged the image (has_nsfw_concepts)`);
      }
      const url = out?.images?.[0]?.url ?? out?.image?.url;
      if (typeof url === 'string' && url) return url;
    }
    throw new ProviderUnavailable(`${what}: completed without an output file (${brief(out)})`);
  }

  return {
    name: 'fal',
    types: servedTypes(s.models),
    concurrency: s.concurrency,
    async run(job, ctx): Promise<ProviderOutput> {
      const model = s.models[job.type];
      if (!model) throw new ProviderUnavailable(`fal does not serve ${job.type} (no model configured)`);
      const url = await runAsyncJob<FalJob, string>(ctx, {
        what: `fal ${job.type} (task ${job.taskId})`,
        backoff: s.poll,
        submit: () => submit(job, model, ctx),
        restore(saved) {
          const o = savedObject(saved, 'fal', ['requestId', 'type', 'model', 'statusUrl', 'responseUrl', 'cancelUrl'] as const);
          const base = requestBase(o.model, o.requestId);
          return {
            requestId: o.requestId,
            type: o.type as TaskType,
            model: o.model,
            statusUrl: onQueue(o.statusUrl, `${base}/status`),
            responseUrl: onQueue(o.responseUrl, base),
            cancelUrl: onQueue(o.cancelUrl, `${base}/cancel`),
          };
        },
        idOf: (st) => st.requestId,
        async poll(st) {
          const what = `fal request ${st.requestId}`;
          const res = await fetchRetrying(st.statusUrl, { headers: auth }, { signal: ctx.signal, log: ctx.log, what: `${what} status` });
          const data = await jsonOrNull(res);
          if (!res.ok) throw new ProviderUnavailable(`${what} status: HTTP ${res.status}: ${brief(data ?? '')}`);
          switch (data?.status) {
            case 'IN_QUEUE':
              return { done: false, queuePosition: typeof data.queue_position === 'number' ? data.queue_position : null };
            case 'IN_PROGRESS':
              return { done: false, queuePosition: null };
            case 'COMPLETED': {
              // the result (or the model's error) is at the response URL
              const out = await fetchRetrying(st.responseUrl, { headers: auth }, { signal: ctx.signal, log: ctx.log, what: `${what} result` });
              const body = await jsonOrNull(out);
              if (!out.ok) throw failure(`${what} result`, out.status, body);
              return { done: true, result: outputFile(st, body) };
            }
            default:
              throw new ProviderUnavailable(`${what}: unexpected status ${brief(data?.status ?? data)}`);
          }
        },
      });
      const inline = decodeDataUrl(url);
      if (inline) {
        if (inline.bytes.byteLength > rt.maxOutputBytes) throw new ProviderUnavailable(`fal ${job.type}: inline output over the size limit`);
        return { bytes: inline.bytes, mime: inline.mime };
      }
      const out = await downloadOutput(url, { maxBytes: rt.maxOutputBytes, timeoutMs: rt.downloadTimeoutMs }, {
        signal: ctx.signal,
        log: ctx.log,
        what: `fal ${job.type} output`,
      });
      ctx.log.info(`fal ${job.type} (task ${job.taskId}): output copied from ${safeUrl(url)} (${out.bytes.byteLength} bytes)`);
      return { bytes: out.bytes, mime: out.mime ?? undefined };
    },
    async cancel(state, log: Logger) {
      const st = state as Partial<FalJob> | null;
      if (!st?.requestId || !st.model) return;
      const url = onQueue(st.cancelUrl, `${requestBase(st.model, st.requestId)}/cancel`);
      const res = await fetch(url, { method: 'PUT', headers: auth, signal: AbortSignal.timeout(10_000) });
      const data = await jsonOrNull(res);
      if (res.ok) log.info(`fal request ${st.requestId}: cancel ${brief(data?.status ?? 'requested')}`);
      else log.warn(`fal request ${st.requestId}: cancel answered HTTP ${res.status} ${brief(data?.status ?? data ?? '')}`);
    },
  };
}

export const falProvider: ProviderEntry<FalSettings> = {
  settings(env: Env): FalSettings {
    return {
      key: requiredSecret(env, 'FAL_KEY', 'fal'),
      queueUrl: baseUrlSetting(env, 'FAL_QUEUE_URL', 'https://queue.fal.run'),
      models: modelSettings(env, 'fal', 'FAL', FAL_DEFAULT_MODELS, checkModel),
      concurrency: intSetting(env, 'FAL_CONCURRENCY', 4, 1, 1000),
    };
  },
  create: (s, rt) => createFalProvider(s, rt),
};
