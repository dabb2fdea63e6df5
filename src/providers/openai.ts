// The `openai` provider: the OpenAI-compatible Images and Videos APIs (OpenAI itself, and servers that speak the
// same protocol: LocalAI, vLLM-Omni, LiteLLM and other gateways).
//
//   t2i  POST {base}/images/generations   JSON; synchronous: the answer carries data[0].b64_json or data[0].url
//   i2i  POST {base}/images/edits         multipart; the key reference image is the `image` part
//   t2v  POST {base}/videos               JSON: a video job { id, status, progress }
//   i2v  POST {base}/videos               multipart; the key reference image is the `input_reference` part
//        GET  {base}/videos/{id}          poll: status queued | in_progress | completed | failed, progress 0–100
//        GET  {base}/videos/{id}/content  the MP4 (same authorization as the API)
//        DELETE {base}/videos/{id}        our cancel (see cancel() below)
//
// Paths are appended to OPENAI_BASE_URL as the OpenAI SDKs do, so `https://api.openai.com/v1` and
// `http://localai:8080/v1` both work.
//
// Resuming after a crash or stop (the saved job state, ctx.saveJob):
// - videos: the job id is saved right after the create call answers and before the first poll; a later claim
//   polls that id and never creates the video again. (If the process died between sending the create call and
//   saving its answer — a window of one round trip — no id is known and the job is sent again; this is logged.)
// - images: the Images API is synchronous and gives no id to come back to. `{ api: 'images' }` is saved before the
//   request is sent, and `answered: true` (with the output link when the answer was a link) once it has answered.
//   A later claim downloads the saved link if there is one; sends the request again only when no answer was
//   recorded (the earlier request was aborted by our stop, or died with the process); and otherwise fails the task
//   rather than pay for the same image twice.
//
// Sizes: width/height become the API's `size` ("WxH"). Models with a fixed list of sizes (dall-e-2, dall-e-3,
// gpt-image-1*, sora-2, sora-2-pro) get the supported size nearest in aspect ratio, then in area; any other model
// (gpt-image-2, LocalAI, vLLM-Omni …) gets `WxH` as asked. Without width/height, i2i and i2v use the key reference's
// size and t2i/t2v leave `size` to the server's default. Sora requires the i2v reference to be exactly the video's
// size, so for the fixed-size video models the reference is cropped to the aspect ratio and scaled (a PNG is sent).
// Seconds: `duration` → `seconds` (sora: the nearest of 4, 8, 12; other models: the value as given, rounded).
import { decodeImage, probeImageSize } from '../media';
import { resizeRGBA } from '../engine/local/effects';
import { encodePngSync } from '../engine/local/png';
import { ConfigError } from '../config-error';
import { isVideoType, TASK_TYPES } from '../tasks';
import { downloadOutput, fetchRetrying, safeUrl, sleep } from './http';
import type { Env, ProviderEntry, ProviderRuntime } from './registry';
import {
  type GenerationProvider,
  type ProviderContext,
  type ProviderJob,
  type ProviderOutput,
  type ProviderReference,
  ProviderRefusal,
  ProviderUnavailable,
} from './types';

export interface OpenAISettings {
  /** OPENAI_BASE_URL without a trailing slash */
  baseUrl: string;
  apiKey: string;
  imageModel: string;
  videoModel: string;
  /** tasks at once on this instance (OPENAI_CONCURRENCY) */
  concurrency: number;
  /** the video poll interval: first wait, growing ×1.5 up to the largest (defaults 1 s and 5 s; tests shorten them) */
  pollMinMs?: number;
  pollMaxMs?: number;
}

export const OPENAI_DEFAULTS = {
  baseUrl: 'https://api.openai.com/v1',
  imageModel: 'gpt-image-1',
  videoModel: 'sora-2',
  concurrency: 4,
} as const;

/** The short messages a refused task shows its user. */
export const MSG_SAFETY = '内容未通过安全审核';
export const MSG_INVALID = '参数不被生成服务接受';

/** Reads the settings from the environment; a missing key or a bad value names its variable. */
export function readOpenAISettings(env: Env): OpenAISettings {
  const get = (name: string) => env[name]?.trim() || undefined;
  const apiKey = get('OPENAI_API_KEY');
  if (!apiKey) {
    throw new ConfigError('OPENAI_API_KEY is required when GENERATION_ROUTES sends a task type to openai (any value for servers that do not check it)');
  }
  const rawBase = get('OPENAI_BASE_URL') ?? OPENAI_DEFAULTS.baseUrl;
  let base: URL;
  try {
    base = new URL(rawBase);
  } catch {
    throw new ConfigError(`OPENAI_BASE_URL=${rawBase} is not a URL (example: https://api.openai.com/v1)`);
  }
  if (base.protocol !== 'http:' && base.protocol !== 'https:') {
    throw new ConfigError(`OPENAI_BASE_URL=${rawBase} must be an http:// or https:// URL`);
  }
  if (base.search || base.hash) throw new ConfigError(`OPENAI_BASE_URL=${rawBase} must not have a query or fragment`);
  const rawConcurrency = get('OPENAI_CONCURRENCY');
  const concurrency = rawConcurrency === undefined ? OPENAI_DEFAULTS.concurrency : Number(rawConcurrency);
  if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 256) {
    throw new ConfigError(`OPENAI_CONCURRENCY=${rawConcurrency} must be an integer from 1 to 256`);
  }
  return {
    baseUrl: base.href.replace(/\/+$/, ''),
    apiKey,
    imageModel: get('OPENAI_IMAGE_MODEL') ?? OPENAI_DEFAULTS.imageModel,
    videoModel: get('OPENAI_VIDEO_MODEL') ?? OPENAI_DEFAULTS.videoModel,
    concurrency,
  };
}

// ------------------------------------------------------------------ job state (stored in tasks.provider_job)

interface ImageJobState {
  api: 'images';
  endpoint: 'generations' | 'edits';
  sentAt: string;
  /** the server answered (the output is paid for) */
  answered?: boolean;
  /** the output link of the answer, when it was a link */
  url?: string;
}

interface VideoJobState {
  api: 'videos';
  sentAt: string;
  /** the video job's id, once the create call answered */
  id?: string;
}

type JobState = ImageJobState | VideoJobState;

const asState = (v: unknown): JobState | null => {
  const s = v as JobState | null;
  return s && typeof s === 'object' && (s.api === 'images' || s.api === 'videos') ? s : null;
};

// ------------------------------------------------------------------ sizes and seconds

/** Models that accept only some sizes; the first match wins (a `vendor/` prefix of gateways is allowed). */
const IMAGE_SIZES: [RegExp, string[]][] = [
  [/(^|\/)dall-e-2/, ['256x256', '512x512', '1024x1024']],
  [/(^|\/)dall-e-3/, ['1024x1024', '1792x1024', '1024x1792']],
  [/(^|\/)gpt-image-1/, ['1024x1024', '1536x1024', '1024x1536']], // gpt-image-1, gpt-image-1-mini, gpt-image-1.5
];
const VIDEO_SIZES: [RegExp, string[]][] = [
  [/(^|\/)sora-2-pro/, ['720x1280', '1280x720', '1024x1792', '1792x1024']],
  [/(^|\/)sora-2/, ['720x1280', '1280x720']],
];
const VIDEO_SECONDS: [RegExp, number[]][] = [[/(^|\/)sora-2/, [4, 8, 12]]];

const lookup = <T>(table: [RegExp, T][], model: string): T | null => table.find(([re]) => re.test(model))?.[1] ?? null;

const parseSize = (s: string) => {
  const [w, h] = s.split('x').map(Number);
  return { w, h };
};

/** The supported size nearest to w×h: the closest aspect ratio first, then the closest area. */
export function nearestSize(w: number, h: number, sizes: string[]): string {
  const aspect = Math.log(w / h);
  const area = Math.log(w * h);
  let best = sizes[0];
  let bestKey = [Infinity, Infinity];
  for (const s of sizes) {
    const c = parseSize(s);
    // aspect ratios within 2% count as equal, so that the area decides between e.g. 1280x720 and 1792x1024
    const skew = Math.abs(Math.log(c.w / c.h) - aspect);
    const key = [skew < 0.02 ? 0 : skew, Math.abs(Math.log(c.w * c.h) - area)];
    if (key[0] < bestKey[0] || (key[0] === bestKey[0] && key[1] < bestKey[1])) {
      best = s;
      bestKey = key;
    }
  }
  return best;
}

/** The `size` to ask for: the model's nearest supported size, or WxH as given; null = the server's default. */
export function sizeFor(model: string, table: [RegExp, string[]][], w: number | null, h: number | null): string | null {
  if (w === null && h === null) return null;
  const width = Math.round(w ?? h!);
  const height = Math.round(h ?? w!);
  const sizes = lookup(table, model);
  return sizes ? nearestSize(width, height, sizes) : `${width}x${height}`;
}

/** `seconds` (a string, as the Videos API wants it) for a duration; null = the server's default. */
export function secondsFor(model: string, duration: number | null): string | null {
  if (duration === null) return null;
  const allowed = lookup(VIDEO_SECONDS, model);
  if (!allowed) return String(Math.max(1, Math.round(duration)));
  let best = allowed[0];
  for (const s of allowed) if (Math.abs(s - duration) < Math.abs(best - duration)) best = s;
  return String(best);
}

const num = (v: unknown): number | null => {
  const n = typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' ? Number(v) : NaN;
  return Number.isFinite(n) && n > 0 ? n : null;
};
const str = (v: unknown): string | null => (typeof v === 'string' && v.trim() !== '' ? v.trim() : null);

/** The target size of a task: its width/height, else (i2i/i2v) the key reference's own size. */
function requestedSize(job: ProviderJob): { w: number | null; h: number | null } {
  const w = num(job.parameters.width);
  const h = num(job.parameters.height);
  if (w !== null || h !== null || job.references.length === 0) return { w, h };
  try {
    const p = probeImageSize(job.references[0].bytes);
    return { w: p.width, h: p.height };
  } catch {
    return { w: null, h: null };
  }
}

/**
 * The prompt as sent: OpenAI-style APIs have no negative prompt or style field (dall-e-3's `style` is only
 * vivid/natural), so both are added to the prompt in words.
 */
function composePrompt(job: ProviderJob, sendsStyle: boolean): string {
  let prompt = job.prompt;
  const style = str(job.parameters.style);
  if (style && !sendsStyle) prompt += `\nStyle: ${style}`;
  const negative = str(job.parameters.negative_prompt);
  if (negative) prompt += `\nAvoid: ${negative}`;
  return prompt;
}

/** OpenAI image options a user may pass among the task's parameters; they are sent as given. */
const GENERATION_OPTIONS = ['quality', 'background', 'output_format', 'output_compression', 'moderation'];
const EDIT_OPTIONS = ['quality', 'background', 'output_format', 'output_compression', 'input_fidelity'];

function pickOptions(parameters: Record<string, unknown>, keys: string[]): Record<string, string | number> {
  const out: Record<string, string | number> = {};
  for (const k of keys) {
    const v = parameters[k];
    if (typeof v === 'string' || (typeof v === 'number' && Number.isFinite(v))) out[k] = v;
  }
  return out;
}

/** Crops the reference to the target's aspect ratio (centred) and scales it to exactly w×h, as a PNG. */
async function fitReference(ref: ProviderReference, w: number, h: number): Promise<ProviderReference> {
  const img = await decodeImage(ref.bytes);
  if (img.width === w && img.height === h) return ref;
  const scale = Math.max(w / img.width, h / img.height);
  const cw = Math.min(img.width, Math.round(w / scale));
  const ch = Math.min(img.height, Math.round(h / scale));
  const x0 = Math.floor((img.width - cw) / 2);
  const y0 = Math.floor((img.height - ch) / 2);
  const cropped = new Uint8Array(cw * ch * 4);
  for (let y = 0; y < ch; y++) {
    const from = ((y0 + y) * img.width + x0) * 4;
    cropped.set(img.data.subarray(from, from + cw * 4), y * cw * 4);
  }
  const png = encodePngSync(resizeRGBA({ width: cw, height: ch, data: cropped }, w, h));
  return { bytes: png, mime: 'image/png', name: ref.name.replace(/\.[a-z0-9]+$/i, '') + '.png' };
}

const fileOf = (ref: ProviderReference) => new File([ref.bytes as Uint8Array<ArrayBuffer>], ref.name, { type: ref.mime });

// ------------------------------------------------------------------ errors

/** Error codes of OpenAI's (and Azure OpenAI's) safety systems. */
const SAFETY_CODES = new Set(['content_policy_violation', 'moderation_blocked', 'content_filter', 'safety_violation']);

interface ApiError {
  message: string;
  type: string;
  code: string;
  param: string;
}

/** The `{"error":{message,type,param,code}}` body of an OpenAI error answer (tolerant of other shapes). */
function errorOf(body: unknown): ApiError {
  const e = ((body as { error?: unknown })?.error ?? body ?? {}) as Record<string, unknown>;
  const s = (v: unknown) => (typeof v === 'string' ? v : typeof v === 'number' ? String(v) : '');
  return { message: s(e.message), type: s(e.type), code: s(e.code), param: s(e.param) };
}

const isSafety = (e: ApiError) => SAFETY_CODES.has(e.code) || SAFETY_CODES.has(e.type);

// ------------------------------------------------------------------ the provider

/** What the provider uses of the runtime (it logs through each task's ctx.log). */
type Runtime = Pick<ProviderRuntime, 'maxOutputBytes' | 'downloadTimeoutMs'>;

export function createOpenAIProvider(s: OpenAISettings, rt: Runtime): GenerationProvider {
  const pollMin = s.pollMinMs ?? 1000;
  const pollMax = s.pollMaxMs ?? 5000;
  const auth = { authorization: `Bearer ${s.apiKey}` };
  const limits = { maxBytes: rt.maxOutputBytes, timeoutMs: rt.downloadTimeoutMs };
  const url = (path: string) => `${s.baseUrl}${path}`;

  /** The provider's words for the log, never the key (some servers echo part of it). */
  const redact = (text: string) => (s.apiKey.length >= 4 ? text.split(s.apiKey).join('[key]') : text).replace(/\s+/g, ' ').slice(0, 500);

  /** Turns a non-2xx answer (after fetchRetrying's retries) into a refusal or an unavailable provider. */
  async function failure(res: Response, what: string): Promise<Error> {
    const e = errorOf(await readJson(res, 1024 * 1024).catch(() => null));
    const label = [e.code, e.type].filter(Boolean).join(' / ');
    if (res.status === 401 || res.status === 403) {
      // the message of a 401 quotes the key in part: not even that goes to the log
      return new ProviderUnavailable(`${what}: HTTP ${res.status} ${label || 'unauthorized'} (check OPENAI_API_KEY)`);
    }
    const detail = `${what}: HTTP ${res.status}${label ? ` ${label}` : ''}${e.param ? ` param=${e.param}` : ''}: ${redact(e.message)}`;
    if (isSafety(e)) return new ProviderRefusal(MSG_SAFETY, detail);
    if (res.status === 400 || res.status === 413 || res.status === 422) return new ProviderRefusal(MSG_INVALID, detail);
    return new ProviderUnavailable(detail);
  }

  /** JSON of an answer, read up to `max` bytes (a b64_json image is large; a runaway answer is not accepted). */
  async function readJson(res: Response, max: number): Promise<any> {
    const declared = Number(res.headers.get('content-length') ?? 0);
    if (declared > max) {
      await res.body?.cancel().catch(() => {});
      throw new ProviderUnavailable(`answer of ${declared} bytes is over the limit`);
    }
    const chunks: Uint8Array[] = [];
    let size = 0;
    const reader = res.body?.getReader();
    if (reader) {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        size += value.byteLength;
        if (size > max) {
          await reader.cancel().catch(() => {});
          throw new ProviderUnavailable('answer is over the size limit');
        }
        chunks.push(value);
      }
    }
    try {
      return JSON.parse(Buffer.concat(chunks).toString('utf8'));
    } catch {
      return null;
    }
  }

  // ---------------------------------------------------------------- images

  async function runImage(job: ProviderJob, ctx: ProviderContext): Promise<ProviderOutput> {
    const endpoint = job.type === 'i2i' ? 'edits' : 'generations';
    const what = `openai images/${endpoint}`;
    const before = asState(ctx.resume);
    if (before?.api === 'images') {
      if (before.url) {
        ctx.log.info(`task ${job.taskId}: ${what} had answered before the restart; downloading its output`);
        return download(before.url, job, ctx, {});
      }
      if (before.answered) {
        throw new ProviderUnavailable(`${what}: answered before the restart but the output was not kept; not sending it again (it is paid for)`);
      }
      ctx.log.warn(`task ${job.taskId}: ${what} was sent before the restart without a recorded answer; sending it again`);
    }

    const model = s.imageModel;
    const { w, h } = requestedSize(job);
    const size = sizeFor(model, IMAGE_SIZES, w, h);
    const dalleStyle = /(^|\/)dall-e-3/.test(model) && ['vivid', 'natural'].includes(str(job.parameters.style) ?? '');
    let init: RequestInit;
    if (endpoint === 'generations') {
      const body: Record<string, unknown> = { model, prompt: composePrompt(job, dalleStyle), n: 1 };
      if (size) body.size = size;
      if (dalleStyle) body.style = str(job.parameters.style);
      Object.assign(body, pickOptions(job.parameters, GENERATION_OPTIONS));
      init = { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify(body) };
    } else {
      if (job.references.length === 0) throw new ProviderRefusal(MSG_INVALID, `${what}: no reference image`);
      const form = new FormData();
      form.set('model', model);
      form.set('prompt', composePrompt(job, false));
      form.set('n', '1');
      if (size) form.set('size', size);
      for (const [k, v] of Object.entries(pickOptions(job.parameters, EDIT_OPTIONS))) form.set(k, String(v));
      // the key image only: dall-e-2 and most compatible servers take one image
      form.set('image', fileOf(job.references[0]));
      init = { method: 'POST', headers: auth, body: form };
    }

    const state: ImageJobState = { api: 'images', endpoint, sentAt: new Date().toISOString() };
    await ctx.saveJob(state);
    const res = await fetchRetrying(url(`/images/${endpoint}`), init, { signal: ctx.signal, log: ctx.log, what, idempotent: false });
    if (!res.ok) throw await failure(res, what);
    // base64 makes 4 bytes of every 3, plus the rest of the JSON
    const answer = await readJson(res, Math.ceil(rt.maxOutputBytes * 1.4) + 1024 * 1024);
    const item = Array.isArray(answer?.data) ? answer.data[0] : null;
    if (item && typeof item.b64_json === 'string') {
      await ctx.saveJob({ ...state, answered: true });
      const bytes = new Uint8Array(Buffer.from(item.b64_json, 'base64'));
      const format = str(answer.output_format);
      return { bytes, mime: format ? `image/${format === 'jpg' ? 'jpeg' : format}` : undefined };
    }
    if (item && typeof item.url === 'string') {
      await ctx.saveJob({ ...state, answered: true, url: item.url });
      return download(item.url, job, ctx, {});
    }
    throw new ProviderUnavailable(`${what}: the answer has no data[0].b64_json or data[0].url`);
  }

  /** Downloads an output link; our key is sent only to our API's own host (a signed storage link needs none). */
  async function download(link: string, job: ProviderJob, ctx: ProviderContext, headers: Record<string, string>): Promise<ProviderOutput> {
    const what = `openai output of task ${job.taskId}`;
    const out = await downloadOutput(link, limits, { signal: ctx.signal, log: ctx.log, what, headers });
    ctx.log.info(`task ${job.taskId}: downloaded ${out.bytes.byteLength} bytes from ${safeUrl(link)}`);
    return { bytes: out.bytes, mime: out.mime ?? undefined };
  }

  // ---------------------------------------------------------------- videos

  async function createVideo(job: ProviderJob, ctx: ProviderContext): Promise<{ id: string; video: any }> {
    const what = 'openai videos (create)';
    const model = s.videoModel;
    const { w, h } = requestedSize(job);
    const size = sizeFor(model, VIDEO_SIZES, w, h);
    const seconds = secondsFor(model, num(job.parameters.duration));
    const prompt = composePrompt(job, false);
    let init: RequestInit;
    if (job.type === 'i2v') {
      if (job.references.length === 0) throw new ProviderRefusal(MSG_INVALID, `${what}: no reference image`);
      let ref = job.references[0];
      // Sora takes a reference of exactly the video's size only
      if (size && lookup(VIDEO_SIZES, model)) {
        const t = parseSize(size);
        ref = await fitReference(ref, t.w, t.h);
      }
      const form = new FormData();
      form.set('model', model);
      form.set('prompt', prompt);
      if (size) form.set('size', size);
      if (seconds) form.set('seconds', seconds);
      form.set('input_reference', fileOf(ref));
      init = { method: 'POST', headers: auth, body: form };
    } else {
      const body: Record<string, unknown> = { model, prompt };
      if (size) body.size = size;
      if (seconds) body.seconds = seconds;
      init = { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify(body) };
    }
    const state: VideoJobState = { api: 'videos', sentAt: new Date().toISOString() };
    await ctx.saveJob(state);
    const res = await fetchRetrying(url('/videos'), init, { signal: ctx.signal, log: ctx.log, what, idempotent: false });
    if (!res.ok) throw await failure(res, what);
    const video = await readJson(res, 1024 * 1024);
    const id = str(video?.id);
    if (!id) throw new ProviderUnavailable(`${what}: the answer has no id`);
    await ctx.saveJob({ ...state, id }); // before the first poll: a restart resumes this job
    ctx.log.info(`task ${job.taskId}: openai video ${id} created (${model}${size ? `, ${size}` : ''}${seconds ? `, ${seconds} s` : ''})`);
    return { id, video };
  }

  async function runVideo(job: ProviderJob, ctx: ProviderContext): Promise<ProviderOutput> {
    const before = asState(ctx.resume);
    let id: string;
    let video: any = null;
    if (before?.api === 'videos' && before.id) {
      id = before.id;
      ctx.log.info(`task ${job.taskId}: resuming openai video ${id}`);
    } else {
      if (before?.api === 'videos') ctx.log.warn(`task ${job.taskId}: a video create call was sent before the restart without a recorded id; creating it again`);
      ({ id, video } = await createVideo(job, ctx));
    }

    const what = `openai videos/${id}`;
    const path = `/videos/${encodeURIComponent(id)}`;
    let delay = pollMin;
    let failures = 0;
    for (;;) {
      if (video) {
        const status = str(video.status);
        if (status === 'completed') break;
        if (status === 'failed') throw videoFailure(id, video);
        if (status === 'cancelled' || status === 'canceled') throw new ProviderUnavailable(`${what}: canceled at the provider`);
        // queued / in_progress (and statuses we do not know: keep polling, the task timeout bounds it)
        if (typeof video.progress === 'number') ctx.progress({ progress: Math.max(0, Math.min(99, video.progress)) });
        await sleep(delay, ctx.signal);
        delay = Math.min(pollMax, Math.round(delay * 1.5));
      }
      const res = await fetchRetrying(url(path), { headers: auth }, { signal: ctx.signal, log: ctx.log, what, retries: 2 }).catch((e) => {
        // a passing outage does not lose a job that is still running: poll again, a few times
        if (!(e instanceof ProviderUnavailable) || ctx.signal.aborted || ++failures >= 5) throw e;
        ctx.log.warn(`task ${job.taskId}: polling ${what} failed (${e.message}); polling again`);
        return null;
      });
      if (!res) {
        video = { status: 'in_progress' };
        continue;
      }
      failures = 0;
      if (res.status === 404) {
        await res.body?.cancel().catch(() => {});
        throw new ProviderUnavailable(`${what}: the video job is gone (HTTP 404)`);
      }
      if (!res.ok) throw await failure(res, what);
      video = await readJson(res, 1024 * 1024);
      if (!video || typeof video !== 'object') throw new ProviderUnavailable(`${what}: the answer is not JSON`);
    }
    ctx.progress({ progress: 100 });
    return download(url(`${path}/content`), job, ctx, auth);
  }

  function videoFailure(id: string, video: any): Error {
    const e = errorOf(video.error ?? {});
    const detail = `openai video ${id} failed: ${e.code || 'no code'}: ${redact(e.message)}`;
    if (isSafety(e)) return new ProviderRefusal(MSG_SAFETY, detail);
    return new Error(detail);
  }

  return {
    name: 'openai',
    types: TASK_TYPES,
    concurrency: s.concurrency,
    run(job, ctx) {
      return isVideoType(job.type) ? runVideo(job, ctx) : runImage(job, ctx);
    },
    /**
     * The Videos API has no cancel call; DELETE /videos/{id} removes a video and its assets (OpenAI documents it
     * for completed or failed videos; compatible servers may stop a running one). It is sent as our best effort and
     * its refusal is only logged. An image request has nothing to tell: aborting it is all there is.
     */
    async cancel(state, log) {
      const st = asState(state);
      if (st?.api !== 'videos' || !st.id) return;
      const what = `openai videos/${st.id} (delete)`;
      const signal = AbortSignal.timeout(15_000);
      const res = await fetchRetrying(url(`/videos/${encodeURIComponent(st.id)}`), { method: 'DELETE', headers: auth }, { signal, log, what, retries: 2 });
      if (res.ok) {
        await res.body?.cancel().catch(() => {});
        log.info(`${what}: done`);
      } else {
        const err = await failure(res, what);
        log.warn(`${what}: not accepted: ${err.message}`);
      }
    },
  };
}

export const openaiProvider: ProviderEntry<OpenAISettings> = {
  settings: readOpenAISettings,
  create: (settings, rt) => createOpenAIProvider(settings, rt),
};
