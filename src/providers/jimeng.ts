// The `jimeng` provider: Volcengine's visual service (即梦 / Jimeng) through its async task API, written from the
// public API reference (volcengine.com/docs/85621, "即梦AI-图片生成4.0", "图生图3.0智能参考", "视频生成3.0").
//
//   submit: POST {VOLC_VISUAL_URL}/?Action=CVSync2AsyncSubmitTask&Version=2022-08-31   {req_key, prompt, …}
//           → {code: 10000, data: {task_id}, message, request_id, status, time_elapsed}
//   poll:   POST {VOLC_VISUAL_URL}/?Action=CVSync2AsyncGetResult&Version=2022-08-31    {req_key, task_id, req_json?}
//           → data.status in_queue | generating | done | not_found | expired; at done the outer `code` says whether
//             the task succeeded (10000) or failed (e.g. 50511 output moderation, with data null);
//             outputs: data.image_urls (links valid 24 h) or data.binary_data_base64 (return_url false), data.video_url
//             (valid 1 h).
//
// Every request is signed (HMAC-SHA256, region cn-north-1, service cv; see volc-sign.ts). Errors come in two
// shapes: the gateway's `{ResponseMetadata: {Error: {Code, CodeN, Message}}}` (signature, access key, timestamp:
// a deployment problem, never the user's) and the service's `{code, data: null, message, request_id, status}`
// (moderation 504xx/505xx, throttling 50429/50430, internal 50500/50501, invalid input 50215).
// There is no cancel API: a canceled task just stops being polled.
import { ConfigError } from '../config-error';
import { encodePngSync } from '../engine/local/png';
import type { Logger } from '../logger';
import { decodeImage } from '../media';
import { isVideoType, TASK_TYPES, type TaskType, needsReference } from '../tasks';
import { downloadOutput, fetchRetrying, jsonOrNull, sleep } from './http';
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
import { signJsonPost } from './volc-sign';

export const JIMENG_API_VERSION = '2022-08-31';
export const JIMENG_REGION = 'cn-north-1';
export const JIMENG_SERVICE = 'cv';

/**
 * Default service keys (req_key) per type, from the public reference:
 * t2i 即梦图片生成4.0 (`jimeng_t2i_v40`), i2i 图生图3.0智能参考 (`jimeng_i2i_v30`, one reference as base64),
 * t2v 视频生成3.0 720P 文生视频 (`jimeng_t2v_v30`), i2v 视频生成3.0 720P 图生视频-首帧 (`jimeng_i2v_first_v30`).
 */
export const JIMENG_DEFAULT_REQ_KEYS: Record<TaskType, string> = {
  t2i: 'jimeng_t2i_v40',
  i2i: 'jimeng_i2i_v30',
  t2v: 'jimeng_t2v_v30',
  i2v: 'jimeng_i2v_first_v30',
};

export interface JimengSettings {
  /** VOLC_ACCESS_KEY / VOLC_SECRET_KEY */
  accessKey: string;
  secretKey: string;
  /** VOLC_VISUAL_URL; requests go to its `/` with Action and Version in the query */
  baseUrl: string;
  /** JIMENG_{T2I,I2I,T2V,I2V}_REQ_KEY */
  reqKeys: Record<TaskType, string>;
  /** JIMENG_RETURN_URL: ask for image links (true) or base64 images in the poll answer (false) */
  returnUrl: boolean;
  /** JIMENG_CONCURRENCY: tasks at once on this instance */
  concurrency: number;
  /** polling backoff: the first wait, growing ×1.5 up to the largest */
  pollMinMs: number;
  pollMaxMs: number;
}

/** What saveJob stores: enough to poll the job again after a restart, whatever the settings are by then. */
export interface JimengJobState {
  taskId: string;
  reqKey: string;
}

const ACTION_SUBMIT = 'CVSync2AsyncSubmitTask';
const ACTION_RESULT = 'CVSync2AsyncGetResult';
const CODE_OK = 10000;
/** 504xx / 505xx moderation codes: input image / text, output image / text / video / audio, copyright */
const MODERATION = new Set([50411, 50412, 50413, 50511, 50512, 50513, 50514, 50516, 50517, 50518, 50519]);
/** QPS and concurrency limits: the reference answers them with HTTP 429, but either way they are retried */
const THROTTLED = new Set([50429, 50430]);
/** "Input invalid for this service." */
const INVALID_INPUT = 50215;

export const MSG_MODERATION = '内容未通过安全审核';
export const MSG_INVALID_INPUT = '参数不被生成服务接受';
export const MSG_NO_REFERENCE = '缺少参考图片';

/** jimeng 4.0 wants width×height within [1024², 4096²] */
const T2I_MIN_AREA = 1024 * 1024;
const T2I_MAX_AREA = 4096 * 4096;
/** 图生图3.0 accepts output sides of 512–1536 */
const I2I_SIDE = [512, 1536] as const;
/** 视频生成3.0: 24 fps, 5 s (121 frames) or 10 s (241 frames) */
const VIDEO_FPS = 24;
const VIDEO_SECONDS = [5, 10] as const;
const ASPECT_RATIOS = ['16:9', '4:3', '1:1', '3:4', '9:16', '21:9'] as const;

// ------------------------------------------------------------------------------------------------ settings

function parseBool(name: string, raw: string): boolean {
  const v = raw.trim().toLowerCase();
  if (['1', 'true', 'yes', 'on'].includes(v)) return true;
  if (['0', 'false', 'no', 'off'].includes(v)) return false;
  throw new ConfigError(`${name}=${raw} must be true or false`);
}

/** Reads the jimeng settings; VOLC_ACCESS_KEY and VOLC_SECRET_KEY are required (only read when a route names jimeng). */
export function readJimengSettings(env: Env): JimengSettings {
  const val = (name: string) => {
    const v = env[name]?.trim();
    return v ? v : undefined;
  };
  const required = (name: string) => {
    const v = val(name);
    if (!v) throw new ConfigError(`${name} is required when GENERATION_ROUTES sends a task type to jimeng`);
    return v;
  };
  const accessKey = required('VOLC_ACCESS_KEY');
  const secretKey = required('VOLC_SECRET_KEY');
  const baseUrl = val('VOLC_VISUAL_URL') ?? 'https://visual.volcengineapi.com';
  let url: URL;
  try {
    url = new URL(baseUrl);
  } catch {
    throw new ConfigError('VOLC_VISUAL_URL is not a valid URL');
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new ConfigError('VOLC_VISUAL_URL must start with https:// or http://');
  if (url.search || url.hash) throw new ConfigError('VOLC_VISUAL_URL must not carry a query or fragment');
  const reqKeys = { ...JIMENG_DEFAULT_REQ_KEYS };
  for (const t of TASK_TYPES) {
    const name = `JIMENG_${t.toUpperCase()}_REQ_KEY`;
    const v = val(name);
    if (v === undefined) continue;
    if (!/^[A-Za-z0-9_.-]{1,128}$/.test(v)) throw new ConfigError(`${name}=${v} is not a req_key (letters, digits, _ . -)`);
    reqKeys[t] = v;
  }
  const rawConc = val('JIMENG_CONCURRENCY');
  const concurrency = rawConc === undefined ? 2 : Number(rawConc);
  if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 256) {
    throw new ConfigError(`JIMENG_CONCURRENCY=${rawConc} must be an integer from 1 to 256`);
  }
  const rawUrl = val('JIMENG_RETURN_URL');
  return {
    accessKey,
    secretKey,
    baseUrl,
    reqKeys,
    returnUrl: rawUrl === undefined ? true : parseBool('JIMENG_RETURN_URL', rawUrl),
    concurrency,
    pollMinMs: 1000,
    pollMaxMs: 5000,
  };
}

// ------------------------------------------------------------------------------------------------ parameters

const num = (p: Record<string, unknown>, k: string): number | undefined =>
  typeof p[k] === 'number' && Number.isFinite(p[k]) ? (p[k] as number) : undefined;

/** Width/height for jimeng 4.0: sent only as a pair; an area below 1024² is scaled up, keeping the aspect ratio. */
function t2iSize(p: Record<string, unknown>): { width: number; height: number } | null {
  let w = num(p, 'width');
  let h = num(p, 'height');
  if (w === undefined || h === undefined) return null;
  const area = w * h;
  if (area < T2I_MIN_AREA) {
    const f = Math.sqrt(T2I_MIN_AREA / area);
    w = Math.ceil(w * f);
    h = Math.ceil(h * f);
  } else if (area > T2I_MAX_AREA) {
    const f = Math.sqrt(T2I_MAX_AREA / area);
    w = Math.floor(w * f);
    h = Math.floor(h * f);
  }
  return { width: Math.round(w), height: Math.round(h) };
}

/** The listed aspect ratio nearest to width/height (compared on a log scale), for text-to-video. */
export function nearestAspectRatio(width: number, height: number): (typeof ASPECT_RATIOS)[number] {
  const want = Math.log(width / height);
  let best: (typeof ASPECT_RATIOS)[number] = ASPECT_RATIOS[0];
  let bestDiff = Infinity;
  for (const r of ASPECT_RATIOS) {
    const [a, b] = r.split(':').map(Number);
    const diff = Math.abs(Math.log(a! / b!) - want);
    if (diff < bestDiff) {
      best = r;
      bestDiff = diff;
    }
  }
  return best;
}

/** frames = 24·n + 1 with n one of the supported lengths (5 s or 10 s): the nearest to `duration`. */
export function framesFor(duration: number): number {
  const n = duration >= 7.5 ? VIDEO_SECONDS[1] : VIDEO_SECONDS[0];
  return VIDEO_FPS * n + 1;
}

/** The reference as base64 of a JPEG or PNG (the only formats the service reads): WebP and GIF become PNG. */
async function referenceBase64(ref: ProviderReference): Promise<string> {
  if (ref.mime === 'image/png' || ref.mime === 'image/jpeg') return Buffer.from(ref.bytes).toString('base64');
  let img;
  try {
    img = await decodeImage(ref.bytes);
  } catch (e) {
    throw new ProviderRefusal(MSG_INVALID_INPUT, `reference ${ref.name} (${ref.mime}) could not be decoded: ${(e as Error).message}`);
  }
  return Buffer.from(encodePngSync(img)).toString('base64');
}

/** The prompt, with the `style` parameter appended as words (the API has no style field). */
function promptOf(job: ProviderJob): string {
  const style = typeof job.parameters.style === 'string' ? job.parameters.style.trim() : '';
  return style ? `${job.prompt}，${style}风格` : job.prompt;
}

/** The CVSync2AsyncSubmitTask body for a job. */
export async function submitBody(job: ProviderJob, reqKey: string): Promise<Record<string, unknown>> {
  const p = job.parameters;
  const body: Record<string, unknown> = { req_key: reqKey, prompt: promptOf(job) };
  const seed = num(p, 'seed');
  if (seed !== undefined) body.seed = Math.trunc(seed);
  const ref = job.references[0];
  if (needsReference(job.type) && !ref) throw new ProviderRefusal(MSG_NO_REFERENCE, `${job.type} without a reference`);
  switch (job.type) {
    case 't2i': {
      const size = t2iSize(p);
      if (size) Object.assign(body, size);
      body.force_single = true; // one image per task (4.0 may otherwise answer a set, each one billed)
      break;
    }
    case 'i2i': {
      body.binary_data_base64 = [await referenceBase64(ref!)];
      const strength = num(p, 'strength');
      if (strength !== undefined) body.scale = Math.round(strength * 100) / 100; // text influence vs the reference
      const w = num(p, 'width');
      const h = num(p, 'height');
      // output size when the user asked for one the service accepts; otherwise it follows the reference
      if (w !== undefined && h !== undefined && [w, h].every((v) => v >= I2I_SIDE[0] && v <= I2I_SIDE[1])) Object.assign(body, { width: w, height: h });
      break;
    }
    case 't2v':
    case 'i2v': {
      const duration = num(p, 'duration');
      if (duration !== undefined) body.frames = framesFor(duration);
      if (job.type === 'i2v') {
        body.binary_data_base64 = [await referenceBase64(ref!)]; // the first frame; its aspect ratio is kept
      } else if (typeof p.aspect_ratio === 'string' && (ASPECT_RATIOS as readonly string[]).includes(p.aspect_ratio)) {
        body.aspect_ratio = p.aspect_ratio;
      } else {
        const w = num(p, 'width');
        const h = num(p, 'height');
        if (w !== undefined && h !== undefined) body.aspect_ratio = nearestAspectRatio(w, h);
      }
      break;
    }
  }
  return body;
}

function parseState(resume: unknown): JimengJobState {
  const s = resume as Partial<JimengJobState> | null;
  if (!s || typeof s.taskId !== 'string' || typeof s.reqKey !== 'string') {
    throw new ProviderUnavailable(`jimeng: saved job state is unreadable (${JSON.stringify(resume)?.slice(0, 200)})`);
  }
  return { taskId: s.taskId, reqKey: s.reqKey };
}

// ------------------------------------------------------------------------------------------------ provider

export function createJimengProvider(s: JimengSettings, rt: ProviderRuntime): GenerationProvider {
  const base = new URL(s.baseUrl);
  const root = `${base.origin}${base.pathname.endsWith('/') ? base.pathname : base.pathname + '/'}`;
  const creds = { accessKey: s.accessKey, secretKey: s.secretKey, region: JIMENG_REGION, service: JIMENG_SERVICE };
  const limits = { maxBytes: rt.maxOutputBytes, timeoutMs: rt.downloadTimeoutMs };

  /** Provider text may quote the access key ("The accesskey [AK…] … is invalid"): keys never reach a log line. */
  const scrub = (text: string) => text.split(s.secretKey).join('***').split(s.accessKey).join('***');
  const short = (v: unknown) => scrub(String(v ?? '')).replace(/\s+/g, ' ').slice(0, 300);

  /** Turns a failed answer into the error the runner maps (refusal = the user's message; else the generic one). */
  function failure(what: string, status: number, json: any): Error {
    const gateway = json?.ResponseMetadata?.Error;
    if (gateway) {
      // signature, access key, clock or permission: the deployment's problem, reported to the operator only
      return new ProviderUnavailable(`${what}: HTTP ${status} ${short(gateway.Code)} (${short(gateway.CodeN)}): ${short(gateway.Message)}`);
    }
    const code = typeof json?.code === 'number' ? json.code : Number(json?.code);
    const detail = `${what}: HTTP ${status} code ${Number.isFinite(code) ? code : '?'}: ${short(json?.message)} (request ${short(json?.request_id)})`;
    if (MODERATION.has(code)) return new ProviderRefusal(MSG_MODERATION, detail);
    if (code === INVALID_INPUT) return new ProviderRefusal(MSG_INVALID_INPUT, detail);
    return new ProviderUnavailable(json ? detail : `${what}: HTTP ${status} (not JSON)`);
  }

  /**
   * One signed call; 429/5xx are retried by fetchRetrying (each retry re-sends the same signature, valid for
   * minutes). A throttling code in an answer that is not HTTP 429 is retried here the same bounded way, signed anew.
   */
  async function call(action: string, body: Record<string, unknown>, ctx: { signal: AbortSignal; log: Logger }, what: string): Promise<any> {
    const url = `${root}?Action=${action}&Version=${JIMENG_API_VERSION}`;
    const text = JSON.stringify(body);
    for (let attempt = 0; ; attempt++) {
      const headers = signJsonPost(url, text, creds);
      // a submit creates a job: only a refusal (429) is retried, never a 5xx after which the job may exist
      const idempotent = action !== 'CVSync2AsyncSubmitTask';
      const res = await fetchRetrying(url, { method: 'POST', headers, body: text }, { signal: ctx.signal, log: ctx.log, what, idempotent });
      const json = await jsonOrNull(res);
      if (res.ok && json?.code === CODE_OK) return json;
      if (THROTTLED.has(Number(json?.code)) && attempt < 4) {
        const wait = 500 * 2 ** attempt * (0.5 + Math.random());
        ctx.log.warn(`${what}: throttled (code ${json.code}, HTTP ${res.status}); retry ${attempt + 1}/4 in ${Math.round(wait)} ms`);
        await sleep(wait, ctx.signal);
        continue;
      }
      throw failure(what, res.status, json);
    }
  }

  async function output(job: ProviderJob, data: any, ctx: ProviderContext, what: string): Promise<ProviderOutput> {
    if (isVideoType(job.type)) {
      const url = typeof data?.video_url === 'string' ? data.video_url : '';
      if (!url) throw new ProviderUnavailable(`${what}: done without a video_url`);
      const got = await downloadOutput(url, limits, { signal: ctx.signal, log: ctx.log, what: `${what} video` });
      return { bytes: got.bytes, mime: got.mime ?? undefined };
    }
    const b64 = Array.isArray(data?.binary_data_base64) ? data.binary_data_base64[0] : null;
    if (typeof b64 === 'string' && b64.length > 0) {
      if (b64.length > (limits.maxBytes * 4) / 3 + 4) throw new ProviderUnavailable(`${what}: base64 output over the ${limits.maxBytes}-byte limit`);
      return { bytes: new Uint8Array(Buffer.from(b64, 'base64')) };
    }
    const url = Array.isArray(data?.image_urls) ? data.image_urls[0] : null;
    if (typeof url !== 'string' || !url) throw new ProviderUnavailable(`${what}: done without an image`);
    const got = await downloadOutput(url, limits, { signal: ctx.signal, log: ctx.log, what: `${what} image` });
    return { bytes: got.bytes, mime: got.mime ?? undefined };
  }

  return {
    name: 'jimeng',
    types: TASK_TYPES,
    concurrency: s.concurrency,
    async run(job: ProviderJob, ctx: ProviderContext): Promise<ProviderOutput> {
      let state: JimengJobState;
      if (ctx.resume != null) {
        state = parseState(ctx.resume);
        ctx.log.info(`task ${job.taskId}: resuming jimeng task ${state.taskId} (${state.reqKey})`);
      } else {
        const reqKey = s.reqKeys[job.type];
        const body = await submitBody(job, reqKey);
        const ans = await call(ACTION_SUBMIT, body, ctx, `jimeng submit ${reqKey}`);
        const taskId = ans?.data?.task_id;
        if (typeof taskId !== 'string' && typeof taskId !== 'number') throw new ProviderUnavailable('jimeng submit: answer without data.task_id');
        state = { taskId: String(taskId), reqKey };
        await ctx.saveJob(state); // before the first poll: a restart resumes this job instead of submitting again
        ctx.log.info(`task ${job.taskId}: jimeng accepted it as ${state.taskId} (${reqKey})`);
      }
      const what = `jimeng task ${state.taskId}`;
      const query: Record<string, unknown> = { req_key: state.reqKey, task_id: state.taskId };
      if (!isVideoType(job.type)) query.req_json = JSON.stringify({ return_url: s.returnUrl });
      let wait = s.pollMinMs;
      // a fresh job is polled after a first wait; a resumed one at once
      if (ctx.resume == null) await sleep(wait, ctx.signal);
      for (;;) {
        const ans = await call(ACTION_RESULT, query, ctx, what);
        const status = ans?.data?.status;
        switch (status) {
          case 'in_queue':
          case 'generating':
            break;
          case 'done':
            return output(job, ans.data, ctx, what);
          case 'not_found': // unknown, or older than the 12 hours the service keeps tasks
          case 'expired':
            throw new ProviderUnavailable(`${what}: status ${status}`);
          default:
            throw new ProviderUnavailable(`${what}: unknown status ${short(status)}`);
        }
        wait = Math.min(s.pollMaxMs, Math.round(wait * 1.5));
        await sleep(wait, ctx.signal);
      }
    },
    // no cancel: the API has none, so a canceled task is simply no longer polled
  };
}

export const jimengProvider: ProviderEntry<JimengSettings> = {
  settings: readJimengSettings,
  create: createJimengProvider,
};
