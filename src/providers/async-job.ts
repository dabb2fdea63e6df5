// What the queue-style remote providers (dashscope, fal, replicate) share: the submit → save → poll loop with
// backoff, the reading and checking of their settings, and a few small helpers for requests and outputs.
//
// The loop keeps the rule of issue 11: the provider's job id is saved (ctx.saveJob) right after the provider
// accepted the job and before the first poll; a task that comes back with a saved job (ctx.resume) polls that job
// and never submits again. Polling backs off (1 s growing to 5 s by default) and stops when ctx.signal aborts
// (cancel, TASK_TIMEOUT, a lost claim, stop).
import { ConfigError } from '../config-error';
import { TASK_TYPES, type TaskType } from '../tasks';
import { sleep } from './http';
import type { Env } from './registry';
import { type ProviderContext, type ProviderJob, type ProviderReference, ProviderRefusal, ProviderUnavailable } from './types';

// ------------------------------------------------------------------ the job loop

export type PollResult<R> =
  | { done: false; progress?: number | null; queuePosition?: number | null }
  | { done: true; result: R };

export interface PollBackoff {
  /** wait after the first poll (default 1000 ms), multiplied by `factor` (1.5) after each poll, up to `maxMs` (5000) */
  initialMs?: number;
  factor?: number;
  maxMs?: number;
}

export interface AsyncJobSpec<S, R> {
  /** for log lines: "dashscope t2i" */
  what: string;
  /** sends the job to the provider; returns the state to save (the provider's job id at least) */
  submit(): Promise<S>;
  /** checks a state saved by an earlier claim (ctx.resume); throws when it is not one of ours */
  restore(saved: unknown): S;
  /** the provider's job id, for log lines */
  idOf(state: S): string;
  /** asks the provider once; `done` carries the result */
  poll(state: S): Promise<PollResult<R>>;
  backoff?: PollBackoff;
}

/** Submits (or resumes) a job and polls it until it is done; progress and queue position go to ctx.progress. */
export async function runAsyncJob<S, R>(ctx: ProviderContext, spec: AsyncJobSpec<S, R>): Promise<R> {
  let state: S;
  if (ctx.resume != null) {
    state = spec.restore(ctx.resume);
    ctx.log.info(`${spec.what}: resuming provider job ${spec.idOf(state)} (not submitted again)`);
  } else {
    state = await spec.submit();
    // durable before the first poll: a crash from here on resumes this job instead of paying for another
    await ctx.saveJob(state);
    ctx.log.info(`${spec.what}: provider job ${spec.idOf(state)} submitted`);
  }
  const initial = spec.backoff?.initialMs ?? 1000;
  const factor = spec.backoff?.factor ?? 1.5;
  const max = spec.backoff?.maxMs ?? 5000;
  let wait = initial;
  for (;;) {
    if (ctx.signal.aborted) throw ctx.signal.reason;
    const r = await spec.poll(state);
    if (r.done) return r.result;
    if (r.progress !== undefined || r.queuePosition !== undefined) {
      ctx.progress({ progress: r.progress, queuePosition: r.queuePosition });
    }
    await sleep(wait, ctx.signal);
    wait = Math.min(max, wait * factor);
  }
}

// ------------------------------------------------------------------ refusals

/** The short Chinese messages a refused task fails with (the provider's own words go to the log). */
export const MSG_SAFETY = '内容未通过安全审核';
export const MSG_INVALID = '参数不被生成服务接受';
export const MSG_NO_REFERENCE = '缺少参考图片';

export const refuseSafety = (detail: string) => new ProviderRefusal(MSG_SAFETY, detail);
export const refuseInvalid = (detail: string) => new ProviderRefusal(MSG_INVALID, detail);

/** The key image of an i2i/i2v job (validation already demands one; this is the provider's own check). */
export function keyReference(job: ProviderJob): ProviderReference {
  const ref = job.references[0];
  if (!ref) throw new ProviderRefusal(MSG_NO_REFERENCE, `${job.type} task without a reference image`);
  return ref;
}

/** `data:<mime>;base64,<bytes>`: how all three providers accept an inline image. */
export const dataUrl = (ref: { bytes: Uint8Array; mime: string }) => `data:${ref.mime};base64,${Buffer.from(ref.bytes).toString('base64')}`;

/** Decodes a `data:…;base64,` URL (some providers answer with one instead of a link); null when it is not one. */
export function decodeDataUrl(url: string): { bytes: Uint8Array; mime: string } | null {
  const m = /^data:([^;,]*)(;[^,]*)?,(.*)$/s.exec(url);
  if (!m) return null;
  const isB64 = (m[2] ?? '').includes(';base64');
  const bytes = isB64 ? new Uint8Array(Buffer.from(m[3], 'base64')) : new TextEncoder().encode(decodeURIComponent(m[3]));
  return { bytes, mime: m[1] || 'application/octet-stream' };
}

/** A provider text for the log: one line, bounded. */
export const brief = (v: unknown, max = 300) => {
  const s = typeof v === 'string' ? v : JSON.stringify(v) ?? String(v);
  return s.replace(/\s+/g, ' ').slice(0, max);
};

// ------------------------------------------------------------------ parameters

/** The parameter keys our API knows; every other key the user sent goes to the provider's model input unchanged. */
export const KNOWN_PARAMETERS = ['width', 'height', 'seed', 'steps', 'strength', 'duration', 'fps', 'negative_prompt', 'style'] as const;

export function unknownParameters(p: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(p)) if (!(KNOWN_PARAMETERS as readonly string[]).includes(k)) out[k] = v;
  return out;
}

export const num = (p: Record<string, unknown>, key: string): number | undefined =>
  typeof p[key] === 'number' && Number.isFinite(p[key]) ? (p[key] as number) : undefined;
export const str = (p: Record<string, unknown>, key: string): string | undefined =>
  typeof p[key] === 'string' && (p[key] as string).trim() !== '' ? (p[key] as string) : undefined;

/** Width and height when the user gave either (a missing one copies the other), else null. */
export function size(p: Record<string, unknown>): { width: number; height: number } | null {
  const w = num(p, 'width');
  const h = num(p, 'height');
  if (w === undefined && h === undefined) return null;
  return { width: Math.round(w ?? h!), height: Math.round(h ?? w!) };
}

/**
 * The prompt as sent to a remote model: `style` (a word for the local engine's effects) is added to the text,
 * since no hosted model has that parameter.
 */
export function promptWithStyle(job: ProviderJob): string {
  const style = str(job.parameters, 'style');
  return style ? `${job.prompt}, ${style} style` : job.prompt;
}

// ------------------------------------------------------------------ settings

const TYPE_UPPER: Record<TaskType, string> = { t2i: 'T2I', i2i: 'I2I', t2v: 'T2V', i2v: 'I2V' };

/** The task types GENERATION_ROUTES sends to `provider` (config.ts has already checked the syntax). */
export function routedTypes(env: Env, provider: string): TaskType[] {
  const out: TaskType[] = [];
  for (const part of (env.GENERATION_ROUTES ?? '').split(',')) {
    const m = /^\s*([a-z0-9]+)\s*=\s*([a-z0-9_-]+)\s*$/i.exec(part);
    if (m && m[2].toLowerCase() === provider && (TASK_TYPES as readonly string[]).includes(m[1].toLowerCase())) out.push(m[1].toLowerCase() as TaskType);
  }
  return out;
}

/** A required secret; missing or blank => ConfigError naming it. */
export function requiredSecret(env: Env, name: string, provider: string): string {
  const v = env[name]?.trim();
  if (!v) throw new ConfigError(`${name} is required when GENERATION_ROUTES names ${provider}`);
  return v;
}

/** An http(s) base URL without its trailing slash. */
export function baseUrlSetting(env: Env, name: string, fallback: string): string {
  const raw = env[name]?.trim() || fallback;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ConfigError(`${name} is not a valid URL`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new ConfigError(`${name} must start with https:// or http://`);
  if (url.search || url.hash) throw new ConfigError(`${name} must not have a query or fragment`);
  return raw.replace(/\/+$/, '');
}

export function intSetting(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name]?.trim();
  if (!raw) return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) throw new ConfigError(`${name}=${raw} must be an integer from ${min} to ${max}`);
  return n;
}

/**
 * The model of each task type from `<PREFIX>_<TYPE>_MODEL`: unset ⇒ the default; set but empty ⇒ the type is not
 * served, and a route sending that type to this provider is a ConfigError naming the variable. `check` may refuse
 * a malformed name (it returns the problem).
 */
export function modelSettings(
  env: Env,
  provider: string,
  prefix: string,
  defaults: Record<TaskType, string | null>,
  check?: (model: string) => string | null,
): Record<TaskType, string | null> {
  const routed = routedTypes(env, provider);
  const out = {} as Record<TaskType, string | null>;
  for (const type of TASK_TYPES) {
    const name = `${prefix}_${TYPE_UPPER[type]}_MODEL`;
    const raw = env[name];
    const model = raw === undefined ? defaults[type] : raw.trim() || null;
    if (model && check) {
      const problem = check(model);
      if (problem) throw new ConfigError(`${name}=${model}: ${problem}`);
    }
    if (!model && routed.includes(type)) {
      throw new ConfigError(`${name} is empty, so ${provider} does not serve ${type}, but GENERATION_ROUTES sends ${type} to it`);
    }
    out[type] = model;
  }
  return out;
}

/** The types that have a model, in TASK_TYPES order. */
export const servedTypes = (models: Record<TaskType, string | null>): TaskType[] => TASK_TYPES.filter((t) => models[t]);

/** Same origin (scheme, host, port): only there may a provider's key be sent. */
export function sameOrigin(a: string, b: string): boolean {
  try {
    return new URL(a).origin === new URL(b).origin;
  } catch {
    return false;
  }
}

/** The saved state, as an object with the given string fields, or a ProviderUnavailable (never resubmit). */
export function savedObject<K extends string>(saved: unknown, provider: string, fields: readonly K[]): Record<K, string> & Record<string, unknown> {
  const o = saved as Record<string, unknown> | null;
  if (!o || typeof o !== 'object' || fields.some((f) => typeof o[f] !== 'string' || o[f] === '')) {
    throw new ProviderUnavailable(`${provider}: the saved job state is not readable (${brief(saved, 120)}); not submitting again`);
  }
  return o as Record<K, string> & Record<string, unknown>;
}
