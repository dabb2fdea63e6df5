// The `replicate` provider: Replicate's predictions API (Authorization: Bearer <REPLICATE_API_TOKEN>).
//   POST {base}/v1/models/{owner}/{name}/predictions  { input }            (official models, "owner/name")
//   POST {base}/v1/predictions                        { version, input }   (any model, "owner/name:version")
//        → 201 the prediction { id, status: "starting", urls: { get, cancel }, … }
//   GET  {base}/v1/predictions/{id}   status starting | processing | succeeded | failed | canceled;
//        `output` (a URL, a list of URLs, or an object of them), `error`, `logs` (tqdm bars like " 45%|████ |")
//   POST {base}/v1/predictions/{id}/cancel
//   POST {base}/v1/files              multipart upload, for references over 256 KB (smaller ones go as data URLs)
// Errors are problem details { title?, detail, status? } (401 Unauthenticated, 422 input validation with
// invalid_fields, 429 "Request was throttled…" with Retry-After). Output files (replicate.delivery) and all
// prediction data are removed an hour after the prediction: we copy the output at once.
import type { Logger } from '../logger';
import { type TaskType, isVideoType } from '../tasks';
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
import {
  type GenerationProvider,
  type ProviderContext,
  type ProviderJob,
  type ProviderOutput,
  type ProviderReference,
  ProviderUnavailable,
} from './types';

export interface ReplicateSettings {
  token: string;
  /** https://api.replicate.com */
  baseUrl: string;
  /** "owner/name" (an official model) or "owner/name:version" */
  models: Record<TaskType, string | null>;
  concurrency: number;
  poll?: PollBackoff;
}

export const REPLICATE_DEFAULT_MODELS: Record<TaskType, string> = {
  t2i: 'black-forest-labs/flux-schnell',
  i2i: 'black-forest-labs/flux-dev',
  t2v: 'wan-video/wan-2.2-t2v-fast',
  i2v: 'wan-video/wan-2.2-i2v-fast',
};

/** References up to this size go inline as data URLs (Replicate's advice); larger ones are uploaded first. */
export const REPLICATE_INLINE_MAX = 256 * 1024;

interface ReplicateJob {
  predictionId: string;
  type: TaskType;
  model: string;
}

const MODEL_RE = /^([\w.-]+)\/([\w.-]+)(?::([0-9a-f]{64}))?$/;
const checkModel = (m: string) => (MODEL_RE.test(m) ? null : 'not a Replicate model like owner/name or owner/name:<64-hex version>');

/** The aspect ratios image models on Replicate commonly take, for a width × height the user asked for. */
const RATIOS = ['1:1', '16:9', '21:9', '3:2', '2:3', '4:5', '5:4', '3:4', '4:3', '9:16', '9:21'];
function aspectRatio(w: number, h: number): string | undefined {
  return RATIOS.find((r) => {
    const [a, b] = r.split(':').map(Number);
    return w * b === h * a;
  });
}

/** The last tqdm percentage in the logs (" 45%|████▌     | 9/20"), or undefined. */
export function progressFromLogs(logs: unknown): number | undefined {
  if (typeof logs !== 'string') return undefined;
  const all = [...logs.matchAll(/(\d{1,3})%\|/g)];
  const last = all.at(-1);
  if (!last) return undefined;
  const p = Number(last[1]);
  return p >= 0 && p <= 100 ? p : undefined;
}

const SAFETY = /nsfw|flagged as sensitive|\(E005\)|\bE005\b|content polic|safety (checker|filter|system)|inappropriate/i;

/** A problem-details error answer in our terms: 422 (or 400) = the input was refused; the rest = unavailable. */
function failure(what: string, status: number, data: any): Error {
  const detail = `${what}: HTTP ${status}: ${brief(data?.title ? `${data.title}: ${data.detail ?? ''}` : (data?.detail ?? data ?? '(no body)'))}`;
  if (status === 422 || status === 400) return SAFETY.test(String(data?.detail ?? '')) ? refuseSafety(detail) : refuseInvalid(detail);
  return new ProviderUnavailable(detail);
}

/** The first file URL in a prediction's output: a string, a list, or an object of them (in key order). */
function firstUrl(output: unknown): string | null {
  if (typeof output === 'string') return /^(https?:|data:)/.test(output) ? output : null;
  if (Array.isArray(output)) {
    for (const o of output) {
      const u = firstUrl(o);
      if (u) return u;
    }
    return null;
  }
  if (output && typeof output === 'object') {
    for (const o of Object.values(output)) {
      const u = firstUrl(o);
      if (u) return u;
    }
  }
  return null;
}

export function createReplicateProvider(s: ReplicateSettings, rt: Pick<ProviderRuntime, 'maxOutputBytes' | 'downloadTimeoutMs'>): GenerationProvider {
  const auth = { authorization: `Bearer ${s.token}` };
  const predictionUrl = (id: string) => `${s.baseUrl}/v1/predictions/${encodeURIComponent(id)}`;

  /** Output files are served by replicate.delivery (the docs ask for the Authorization header); elsewhere none. */
  function downloadHeaders(url: string): Record<string, string> | undefined {
    try {
      const host = new URL(url).hostname;
      if (host === 'replicate.delivery' || host.endsWith('.replicate.delivery') || sameOrigin(url, s.baseUrl)) return auth;
    } catch {
      // not a URL: downloadOutput reports it
    }
    return undefined;
  }

  /** A reference as a model input: a data URL when small, else an uploaded file's URL. */
  async function fileInput(ref: ProviderReference, ctx: ProviderContext): Promise<string> {
    if (ref.bytes.byteLength <= REPLICATE_INLINE_MAX) return dataUrl(ref);
    const form = new FormData();
    form.append('content', new Blob([ref.bytes], { type: ref.mime }), ref.name);
    form.append('type', ref.mime);
    form.append('filename', ref.name);
    const what = 'replicate file upload';
    const res = await fetchRetrying(`${s.baseUrl}/v1/files`, { method: 'POST', headers: auth, body: form }, { signal: ctx.signal, log: ctx.log, what });
    const data = await jsonOrNull(res);
    if (!res.ok) throw failure(what, res.status, data);
    const url = data?.urls?.get;
    if (typeof url !== 'string' || !url) throw new ProviderUnavailable(`${what}: no urls.get in the answer (${brief(data)})`);
    return url;
  }

  async function input(job: ProviderJob, model: string, ctx: ProviderContext): Promise<Record<string, unknown>> {
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
      body.num_outputs = 1;
      if (wh) {
        body.width = wh.width;
        body.height = wh.height;
        const ratio = aspectRatio(wh.width, wh.height);
        if (ratio) body.aspect_ratio = ratio;
      }
    }
    if (job.type === 'i2i') {
      // FLUX Kontext models name it input_image; most image-to-image models `image` (+ prompt_strength)
      body[/kontext/i.test(model) ? 'input_image' : 'image'] = await fileInput(keyReference(job), ctx);
      const strength = num(p, 'strength');
      if (strength !== undefined) body.prompt_strength = strength;
    }
    if (job.type === 'i2v') body.image = await fileInput(keyReference(job), ctx);
    if (isVideoType(job.type)) {
      const fps = num(p, 'fps');
      if (fps !== undefined) body.frames_per_second = fps;
    }
    return { ...body, ...unknownParameters(p) };
  }

  async function submit(job: ProviderJob, model: string, ctx: ProviderContext): Promise<ReplicateJob> {
    const what = `replicate ${job.type} submit`;
    const [, owner, name, version] = MODEL_RE.exec(model)!;
    const modelInput = await input(job, model, ctx);
    const url = version ? `${s.baseUrl}/v1/predictions` : `${s.baseUrl}/v1/models/${owner}/${name}/predictions`;
    const payload = version ? { version, input: modelInput } : { input: modelInput };
    const res = await fetchRetrying(
      url,
      { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify(payload) },
      { signal: ctx.signal, log: ctx.log, what, idempotent: false },
    );
    const data = await jsonOrNull(res);
    if (!res.ok) throw failure(what, res.status, data);
    const id = data?.id;
    if (typeof id !== 'string' || !id) throw new ProviderUnavailable(`${what}: no prediction id in the answer (${brief(data)})`);
    return { predictionId: id, type: job.type, model };
  }

  return {
    name: 'replicate',
    types: servedTypes(s.models),
    concurrency: s.concurrency,
    async run(job, ctx): Promise<ProviderOutput> {
      const model = s.models[job.type];
      if (!model) throw new ProviderUnavailable(`replicate does not serve ${job.type} (no model configured)`);
      const url = await runAsyncJob<ReplicateJob, string>(ctx, {
        what: `replicate ${job.type} (task ${job.taskId})`,
        backoff: s.poll,
        submit: () => submit(job, model, ctx),
        restore(saved) {
          const o = savedObject(saved, 'replicate', ['predictionId', 'type', 'model'] as const);
          return { predictionId: o.predictionId, type: o.type as TaskType, model: o.model };
        },
        idOf: (st) => st.predictionId,
        async poll(st) {
          const what = `replicate prediction ${st.predictionId}`;
          const res = await fetchRetrying(predictionUrl(st.predictionId), { headers: auth }, { signal: ctx.signal, log: ctx.log, what });
          const data = await jsonOrNull(res);
          if (!res.ok) throw failure(what, res.status, data);
          switch (data?.status) {
            case 'starting':
              return { done: false };
            case 'processing':
              return { done: false, progress: progressFromLogs(data.logs) };
            case 'succeeded': {
              const out = firstUrl(data.output);
              if (out) return { done: true, result: out };
              const why = data.data_removed ? 'its output was already removed (an hour after the prediction)' : `no file in the output (${brief(data.output)})`;
              throw new ProviderUnavailable(`${what} succeeded but ${why}`);
            }
            case 'failed': {
              const error = brief(data.error ?? 'no error given');
              if (SAFETY.test(error)) throw refuseSafety(`${what} failed: ${error}`);
              // a model failure (out of memory, a crash…): the task fails with the generic message
              throw new Error(`${what} failed: ${error}`);
            }
            case 'canceled':
            case 'aborted':
              throw new ProviderUnavailable(`${what} was ${data.status} at the provider`);
            default:
              throw new ProviderUnavailable(`${what}: unexpected status ${brief(data?.status ?? data)}`);
          }
        },
      });
      const inline = decodeDataUrl(url);
      if (inline) {
        if (inline.bytes.byteLength > rt.maxOutputBytes) throw new ProviderUnavailable(`replicate ${job.type}: inline output over the size limit`);
        return { bytes: inline.bytes, mime: inline.mime };
      }
      const out = await downloadOutput(url, { maxBytes: rt.maxOutputBytes, timeoutMs: rt.downloadTimeoutMs }, {
        signal: ctx.signal,
        log: ctx.log,
        what: `replicate ${job.type} output`,
        headers: downloadHeaders(url),
      });
      ctx.log.info(`replicate ${job.type} (task ${job.taskId}): output copied from ${safeUrl(url)} (${out.bytes.byteLength} bytes)`);
      return { bytes: out.bytes, mime: out.mime ?? undefined };
    },
    async cancel(state, log: Logger) {
      const st = state as Partial<ReplicateJob> | null;
      if (!st?.predictionId) return;
      const res = await fetch(`${predictionUrl(st.predictionId)}/cancel`, { method: 'POST', headers: auth, signal: AbortSignal.timeout(10_000) });
      const data = await jsonOrNull(res);
      if (res.ok) log.info(`replicate prediction ${st.predictionId}: cancel answered, status ${brief(data?.status ?? '?')}`);
      else log.warn(`replicate prediction ${st.predictionId}: cancel answered HTTP ${res.status} ${brief(data?.detail ?? data ?? '')}`);
    },
  };
}

export const replicateProvider: ProviderEntry<ReplicateSettings> = {
  settings(env: Env): ReplicateSettings {
    return {
      token: requiredSecret(env, 'REPLICATE_API_TOKEN', 'replicate'),
      baseUrl: baseUrlSetting(env, 'REPLICATE_BASE_URL', 'https://api.replicate.com'),
      models: modelSettings(env, 'replicate', 'REPLICATE', REPLICATE_DEFAULT_MODELS, checkModel),
      concurrency: intSetting(env, 'REPLICATE_CONCURRENCY', 4, 1, 1000),
    };
  },
  create: (s, rt) => createReplicateProvider(s, rt),
};
