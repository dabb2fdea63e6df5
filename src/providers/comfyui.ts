// The `comfyui` provider: a self-hosted ComfyUI server (its HTTP routes in server.py, its socket messages).
//
//   1. The key reference image, when the workflow has an {{image}} placeholder: POST /upload/image (multipart
//      `image`) → {name, subfolder, type}; its name fills {{image}}.
//   2. POST /prompt {prompt: <API-format workflow>, client_id, prompt_id} → {prompt_id, number, node_errors}; a 400
//      {error, node_errors} is a workflow the server refuses (invalid input). We choose the prompt_id (ComfyUI takes
//      a client's `prompt_id`; an older server answers with its own) and save it BEFORE submitting, so that a crash
//      between the submission and its answer still finds the job on resume instead of submitting it twice.
//   3. Progress on the socket /ws?clientId=<client_id> (the server sends a prompt's events only to the client id that
//      queued it): `status` (queue changed), `execution_start`, `executing` {node, prompt_id} where node null = the
//      prompt is finished (success or not), `progress` {value, max, prompt_id} per sampler step,
//      `execution_success` / `execution_error` / `execution_interrupted`; binary frames are previews (ignored).
//      GET /history/{prompt_id} is the source of truth (the socket only wakes the poll early) and the fallback when
//      the socket is down; GET /queue gives the queue position (queue_running / queue_pending: [number, prompt_id, …]).
//   4. The output file named in the history entry's `outputs` is fetched with GET /view?filename=&subfolder=&type=.
//   Cancel: POST /queue {delete: [prompt_id]} while pending, POST /interrupt {prompt_id} while running.
//
// ComfyUI has no authentication of its own; COMFYUI_TOKEN is sent as a Bearer token (HTTP and socket) for a reverse
// proxy in front of it, and is never logged.
import { createHash, randomUUID } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { ConfigError } from '../config-error';
import type { Logger } from '../logger';
import { probeImageSize } from '../media';
import { isVideoType, TASK_TYPES, type TaskType } from '../tasks';
import { checkWorkflow, defaultWorkflow, fillWorkflow, pickOutput, usesPlaceholder, type ApiWorkflow, type Placeholder } from './comfyui-workflow';
import { downloadOutput, fetchRetrying, jsonOrNull, safeUrl } from './http';
import type { Env, ProviderEntry, ProviderRuntime } from './registry';
import { type GenerationProvider, type ProviderContext, type ProviderJob, ProviderRefusal, ProviderUnavailable } from './types';

export interface ComfyUISettings {
  /** COMFYUI_URL: the server's base URL (paths are appended to it, so a proxy prefix works) */
  url: string;
  /** COMFYUI_TOKEN: a Bearer token for a reverse proxy in front of ComfyUI, or null */
  token: string | null;
  /** COMFYUI_CHECKPOINT: the checkpoint of the built-in workflows ({{checkpoint}}) */
  checkpoint: string;
  /** COMFYUI_CONCURRENCY: tasks this instance keeps at the server at once (the rest wait in our queue) */
  concurrency: number;
  /** the workflow of each type it serves: COMFYUI_WORKFLOW_DIR/<type>.json, else the built-in one for t2i/i2i */
  workflows: Partial<Record<TaskType, ApiWorkflow>>;
  /** the queue/history poll: first wait, growing ×1.5 up to the largest (defaults 1 s and 5 s; tests shorten them) */
  pollMinMs?: number;
  pollMaxMs?: number;
}

export const MSG_INVALID = '参数不被生成服务接受';
export const MSG_BAD_REFERENCE = '参考图片不被生成服务接受';
export const MSG_NO_REFERENCE = '该生成方式需要参考图片';

const DEFAULT_CHECKPOINT = 'sd_xl_base_1.0.safetensors';
/** one HTTP exchange with the server (its retries included) */
const REQUEST_TIMEOUT_MS = 60_000;
/** the queue/history poll: 1 s growing to 5 s unless the settings say otherwise; the socket wakes it at once when
 * the prompt finishes */
const POLL_FIRST_MS = 1000;
const POLL_MAX_MS = 5000;
/** consecutive failed polls (each already retried) before the server counts as gone */
const POLL_FAILURES_MAX = 5;
/** consecutive polls that find the prompt neither queued nor in the history (the server restarted) */
const POLL_MISSES_MAX = 3;
const SOCKET_OPEN_TIMEOUT_MS = 5000;
const SOCKET_RETRY_MS = 5000;

// ---------------------------------------------------------------------------------------------------------------
// Settings

/** The task types GENERATION_ROUTES sends to comfyui (its syntax is checked by loadConfig). */
function routedTypes(env: Env): TaskType[] {
  const out: TaskType[] = [];
  for (const part of (env.GENERATION_ROUTES ?? '').split(',')) {
    const [type, provider] = part.split('=').map((s) => s.trim().toLowerCase());
    if (provider === 'comfyui' && TASK_TYPES.includes(type as TaskType)) out.push(type as TaskType);
  }
  return out;
}

export function readComfyUISettings(env: Env): ComfyUISettings {
  const rawUrl = env.COMFYUI_URL?.trim();
  if (!rawUrl) throw new ConfigError('COMFYUI_URL is required when GENERATION_ROUTES names comfyui (e.g. COMFYUI_URL=http://127.0.0.1:8188)');
  let url: URL;
  try {
    url = new URL(rawUrl);
  } catch {
    throw new ConfigError('COMFYUI_URL is not a valid URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new ConfigError('COMFYUI_URL must start with http:// or https://');
  if (url.username || url.password) throw new ConfigError('COMFYUI_URL must not carry credentials; put a proxy token in COMFYUI_TOKEN');
  if (url.search || url.hash) throw new ConfigError('COMFYUI_URL must not have a query or fragment (paths are appended to it)');

  const rawConcurrency = env.COMFYUI_CONCURRENCY?.trim() || '2';
  const concurrency = Number(rawConcurrency);
  if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 64) {
    throw new ConfigError(`COMFYUI_CONCURRENCY=${rawConcurrency} must be an integer from 1 to 64`);
  }

  const dir = env.COMFYUI_WORKFLOW_DIR?.trim() ? resolve(env.COMFYUI_WORKFLOW_DIR.trim()) : null;
  if (dir && !(existsSync(dir) && statSync(dir).isDirectory())) {
    throw new ConfigError(`COMFYUI_WORKFLOW_DIR=${dir} is not a directory`);
  }
  const workflows: Partial<Record<TaskType, ApiWorkflow>> = {};
  for (const type of TASK_TYPES) {
    const file = dir ? join(dir, `${type}.json`) : null;
    if (file && existsSync(file)) {
      let parsed: unknown;
      try {
        parsed = JSON.parse(readFileSync(file, 'utf8'));
      } catch (e) {
        throw new ConfigError(`COMFYUI_WORKFLOW_DIR: ${file} is not valid JSON (${(e as Error).message})`);
      }
      try {
        workflows[type] = checkWorkflow(parsed, type);
      } catch (e) {
        throw new ConfigError(`COMFYUI_WORKFLOW_DIR: ${file} ${(e as Error).message}`);
      }
    } else if (type === 't2i' || type === 'i2i') {
      workflows[type] = defaultWorkflow(type);
    }
  }
  // a video type routed here needs a workflow file: there is no built-in video workflow
  for (const type of routedTypes(env)) {
    if (!workflows[type]) {
      throw new ConfigError(
        `GENERATION_ROUTES sends ${type} to comfyui, which needs an API-format workflow ${type}.json in COMFYUI_WORKFLOW_DIR` +
          (dir ? ` (${dir} has none)` : ' (not set)'),
      );
    }
  }

  return {
    url: rawUrl.replace(/\/+$/, ''),
    token: env.COMFYUI_TOKEN?.trim() || null,
    checkpoint: env.COMFYUI_CHECKPOINT?.trim() || DEFAULT_CHECKPOINT,
    concurrency,
    workflows,
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Job state (what ctx.saveJob stores)

/** The saved state of one task's prompt at the server. */
export interface ComfyJobState {
  v: 1;
  promptId: string;
  /** the socket client id the prompt was queued with: its events go to that id only */
  clientId: string;
  /** false between saving our chosen id and the server's answer to POST /prompt */
  submitted: boolean;
}

function readState(state: unknown): ComfyJobState | null {
  if (!state || typeof state !== 'object') return null;
  const s = state as Partial<ComfyJobState>;
  if (typeof s.promptId !== 'string' || typeof s.clientId !== 'string') return null;
  return { v: 1, promptId: s.promptId, clientId: s.clientId, submitted: s.submitted !== false };
}

/** Where a prompt is at the server. */
type Place = { at: 'history'; entry: HistoryEntry } | { at: 'running' } | { at: 'pending'; ahead: number } | { at: 'nowhere' };

interface HistoryEntry {
  outputs?: Record<string, unknown>;
  /** null on servers older than the status field */
  status?: { status_str?: string; completed?: boolean; messages?: [string, Record<string, unknown>][] } | null;
}

// ---------------------------------------------------------------------------------------------------------------
// Placeholder values

/** A seed of the task's own when the user gave none: random across tasks, the same on every claim of one task. */
function seedOf(taskId: string): number {
  return createHash('sha256').update(taskId).digest().readUIntBE(0, 6); // < 2^48, a safe integer
}

/** Width and height when the user gave none: a fixed size for t2i/t2v, the reference's shape for i2i/i2v. */
function defaultSize(job: ProviderJob): { width: number; height: number } {
  const video = isVideoType(job.type);
  const fallback = video ? { width: 832, height: 480 } : { width: 1024, height: 1024 };
  const ref = job.references[0];
  if (!ref || job.type === 't2i' || job.type === 't2v') return fallback;
  try {
    const { width, height } = probeImageSize(ref.bytes);
    const longest = video ? 832 : 1024;
    const scale = Math.min(1, longest / Math.max(width, height));
    const snap = (n: number) => Math.max(64, Math.round((n * scale) / 16) * 16);
    return { width: snap(width), height: snap(height) };
  } catch {
    return fallback;
  }
}

function placeholderValues(job: ProviderJob, s: ComfyUISettings, image: string | undefined): Partial<Record<Placeholder, unknown>> {
  const p = job.parameters;
  const num = (k: string) => (typeof p[k] === 'number' && Number.isFinite(p[k]) ? (p[k] as number) : undefined);
  const str = (k: string) => (typeof p[k] === 'string' ? (p[k] as string) : '');
  const size = defaultSize(job);
  const duration = num('duration') ?? 5;
  const fps = num('fps') ?? 16;
  return {
    prompt: job.prompt,
    negative_prompt: str('negative_prompt'),
    seed: num('seed') ?? seedOf(job.taskId),
    width: num('width') ?? size.width,
    height: num('height') ?? size.height,
    steps: num('steps') ?? 20,
    strength: num('strength') ?? 0.75,
    duration,
    fps,
    // a frame count of the 4n+1 / 8n+1 kind video models expect at their usual rates (5 s × 16 fps → 81)
    frames: Math.round(duration * fps) + 1,
    style: str('style'),
    checkpoint: s.checkpoint,
    image,
  };
}

// ---------------------------------------------------------------------------------------------------------------
// The provider

export function createComfyUIProvider(s: ComfyUISettings, rt: ProviderRuntime): GenerationProvider {
  const base = s.url;
  const auth: Record<string, string> = s.token ? { authorization: `Bearer ${s.token}` } : {};
  const where = safeUrl(base);

  const endpoint = (path: string, query?: Record<string, string>) => `${base}${path}${query ? `?${new URLSearchParams(query)}` : ''}`;

  /** One request (429/5xx retried by fetchRetrying), bounded by REQUEST_TIMEOUT_MS besides the task's signal. */
  async function request(
    path: string,
    init: { method?: string; json?: unknown; form?: FormData; query?: Record<string, string> },
    o: { signal: AbortSignal; log: Logger; what: string; idempotent?: boolean },
  ): Promise<Response> {
    const timeout = AbortSignal.timeout(REQUEST_TIMEOUT_MS);
    const headers: Record<string, string> = { ...auth };
    let body: string | FormData | undefined;
    if (init.json !== undefined) {
      headers['content-type'] = 'application/json';
      body = JSON.stringify(init.json);
    } else if (init.form) {
      body = init.form;
    }
    const what = `comfyui ${o.what}`;
    try {
      return await fetchRetrying(
        endpoint(path, init.query),
        { method: init.method ?? (body ? 'POST' : 'GET'), headers, body },
        { signal: AbortSignal.any([o.signal, timeout]), log: o.log, what, idempotent: o.idempotent },
      );
    } catch (e) {
      if (!o.signal.aborted && timeout.aborted) throw new ProviderUnavailable(`${what}: no answer from ${where} within ${REQUEST_TIMEOUT_MS} ms`);
      throw e;
    }
  }

  /** A JSON answer of a route that answers 200, else ProviderUnavailable (401/403: the proxy refused the token). */
  async function getJson(path: string, o: { signal: AbortSignal; log: Logger; what: string }): Promise<any> {
    const res = await request(path, {}, o);
    const body = await jsonOrNull(res);
    if (!res.ok || body === null) throw new ProviderUnavailable(`comfyui ${o.what}: HTTP ${res.status}${res.status === 401 || res.status === 403 ? ' (check COMFYUI_TOKEN)' : ''}`);
    return body;
  }

  /** Where the prompt is now: finished (its history entry), running, waiting behind `ahead` others, or unknown. */
  async function locate(promptId: string, o: { signal: AbortSignal; log: Logger }): Promise<Place> {
    const history = await getJson(`/history/${encodeURIComponent(promptId)}`, { ...o, what: 'history' });
    if (history[promptId]) return { at: 'history', entry: history[promptId] };
    const queue = await getJson('/queue', { ...o, what: 'queue' });
    const running: unknown[][] = Array.isArray(queue.queue_running) ? queue.queue_running : [];
    const pending: unknown[][] = Array.isArray(queue.queue_pending) ? queue.queue_pending : [];
    if (running.some((item) => item?.[1] === promptId)) return { at: 'running' };
    const mine = pending.find((item) => item?.[1] === promptId);
    if (mine) {
      // the pending list is a heap: the order is by `number`, not by position in the array
      const ahead = pending.filter((item) => Number(item?.[0]) < Number(mine[0])).length;
      return { at: 'pending', ahead: running.length + ahead };
    }
    // it may have finished between the two requests
    const again = await getJson(`/history/${encodeURIComponent(promptId)}`, { ...o, what: 'history' });
    return again[promptId] ? { at: 'history', entry: again[promptId] } : { at: 'nowhere' };
  }

  /** Uploads the key reference image into the server's input folder; returns the name LoadImage takes. */
  async function upload(job: ProviderJob, ctx: ProviderContext): Promise<string> {
    const ref = job.references[0];
    if (!ref) throw new ProviderRefusal(MSG_NO_REFERENCE, `${job.type} workflow has {{image}} but the task has no reference`);
    const name = ref.name.replace(/[^A-Za-z0-9._-]/g, '_') || 'reference.png';
    const form = new FormData();
    form.append('image', new File([ref.bytes], name, { type: ref.mime }));
    form.append('type', 'input');
    const res = await request('/upload/image', { form }, { signal: ctx.signal, log: ctx.log, what: 'upload/image' });
    const body = await jsonOrNull(res);
    if (res.status === 400 || res.status === 413) throw new ProviderRefusal(MSG_BAD_REFERENCE, `upload/image answered HTTP ${res.status}`);
    if (!res.ok || typeof body?.name !== 'string') throw new ProviderUnavailable(`comfyui upload/image: HTTP ${res.status}`);
    // an upload into a subfolder is addressed as "<subfolder>/<name>" (as ComfyUI's own front end does)
    return body.subfolder ? `${body.subfolder}/${body.name}` : body.name;
  }

  /** Builds the task's workflow and queues it under `ids`; returns the prompt id the server took. */
  async function submit(job: ProviderJob, ctx: ProviderContext, ids: ComfyJobState): Promise<string> {
    const template = s.workflows[job.type];
    if (!template) throw new ProviderRefusal(MSG_INVALID, `no workflow for ${job.type}`);
    const image = usesPlaceholder(template, 'image') ? await upload(job, ctx) : undefined;
    const prompt = fillWorkflow(template, placeholderValues(job, s, image));
    const res = await request(
      '/prompt',
      { json: { prompt, client_id: ids.clientId, prompt_id: ids.promptId } },
      // ComfyUI queues a repeated prompt_id again: only a refusal (429) is retried
      { signal: ctx.signal, log: ctx.log, what: 'prompt', idempotent: false },
    );
    const body = await jsonOrNull(res);
    if (res.status === 400) throw new ProviderRefusal(MSG_INVALID, `prompt refused: ${describeRefusal(body)}`);
    if (!res.ok || typeof body?.prompt_id !== 'string') {
      throw new ProviderUnavailable(`comfyui prompt: HTTP ${res.status}${res.status === 401 || res.status === 403 ? ' (check COMFYUI_TOKEN)' : ''}`);
    }
    if (body.node_errors && Object.keys(body.node_errors).length > 0) {
      ctx.log.warn(`comfyui: task ${job.taskId}: some outputs of the workflow were dropped: ${describeNodeErrors(body.node_errors)}`);
    }
    ctx.log.info(`comfyui: task ${job.taskId} queued as prompt ${body.prompt_id} (number ${body.number}) at ${where}`);
    return body.prompt_id;
  }

  /** Follows the prompt until it is in the history; returns its entry. */
  async function follow(job: ProviderJob, ctx: ProviderContext, state: ComfyJobState, socket: PromptSocket): Promise<HistoryEntry> {
    let delay = s.pollMinMs ?? POLL_FIRST_MS;
    let failures = 0;
    let misses = 0;
    for (;;) {
      socket.ensureOpen();
      let place: Place | null = null;
      try {
        place = await locate(state.promptId, { signal: ctx.signal, log: ctx.log });
        failures = 0;
      } catch (e) {
        if (ctx.signal.aborted || !(e instanceof ProviderUnavailable) || ++failures >= POLL_FAILURES_MAX) throw e;
        ctx.log.warn(`comfyui: task ${job.taskId}: poll failed (${failures}/${POLL_FAILURES_MAX}): ${e.message}`);
      }
      if (place?.at === 'history') return place.entry;
      if (place?.at === 'nowhere') {
        if (++misses >= POLL_MISSES_MAX) {
          throw new ProviderUnavailable(`comfyui: prompt ${state.promptId} is neither queued nor in the history at ${where} (server restarted?)`);
        }
      } else if (place) {
        misses = 0;
      }
      if (place?.at === 'pending') socket.live.queued(place.ahead);
      else if (place?.at === 'running') socket.live.started();
      socket.live.report(); // also re-sends a value the runner skipped while throttling
      await socket.live.sleep(delay, ctx.signal);
      delay = Math.min(s.pollMaxMs ?? POLL_MAX_MS, Math.round(delay * 1.5));
    }
  }

  /** The output file of a finished prompt, or why there is none. */
  async function fetchOutput(job: ProviderJob, ctx: ProviderContext, state: ComfyJobState, entry: HistoryEntry) {
    const messages = Array.isArray(entry.status?.messages) ? entry.status!.messages : [];
    const event = (name: string) => messages.find((m) => Array.isArray(m) && m[0] === name)?.[1];
    if (entry.status?.status_str === 'error') {
      const err = event('execution_error');
      if (err) {
        // the node's exception (out of memory, a missing model, a node's own check…): logged by the runner, the user
        // gets the generic failure message
        throw new Error(
          `comfyui: prompt ${state.promptId} failed in node ${String(err.node_id)} (${String(err.node_type)}): ` +
            `${String(err.exception_type ?? '')}: ${String(err.exception_message ?? '').slice(0, 500)}`,
        );
      }
      if (event('execution_interrupted')) throw new ProviderUnavailable(`comfyui: prompt ${state.promptId} was interrupted at the server`);
      throw new Error(`comfyui: prompt ${state.promptId} ended with an error`);
    }
    const want = isVideoType(job.type) ? 'video' : 'image';
    const file = pickOutput(entry.outputs, want);
    if (!file) throw new Error(`comfyui: prompt ${state.promptId} finished without an ${want} output (check the ${job.type} workflow's output node)`);
    const url = endpoint('/view', { filename: file.filename, subfolder: file.subfolder, type: file.type });
    const out = await downloadOutput(
      url,
      { maxBytes: rt.maxOutputBytes, timeoutMs: rt.downloadTimeoutMs },
      { signal: ctx.signal, log: ctx.log, what: 'comfyui view', headers: auth },
    );
    ctx.log.info(`comfyui: task ${job.taskId}: fetched ${out.bytes.byteLength} bytes of node ${file.node}'s output`);
    return { bytes: out.bytes, mime: out.mime ?? undefined };
  }

  return {
    name: 'comfyui',
    types: TASK_TYPES.filter((t) => s.workflows[t]),
    concurrency: s.concurrency,

    async run(job, ctx) {
      const resumed = ctx.resume != null;
      let state = resumed ? readState(ctx.resume) : newState();
      if (!state) throw new Error('comfyui: the saved job state is unreadable');
      const socket = new PromptSocket(endpoint('/ws', { clientId: state.clientId }).replace(/^http/, 'ws'), auth, ctx);
      socket.live.promptId = state.promptId;
      try {
        if (!resumed) {
          await ctx.saveJob(state); // our chosen prompt id, before the server sees it
        } else if (!state.submitted) {
          // the last claim saved our id but stopped before the server's answer: did the server take it?
          const place = await locate(state.promptId, { signal: ctx.signal, log: ctx.log });
          if (place.at !== 'nowhere') {
            state = { ...state, submitted: true };
            await ctx.saveJob(state);
          }
        }
        if (!state.submitted) {
          await socket.opened(); // listen before queueing: the server does not replay a prompt's events
          const promptId = await submit(job, ctx, state);
          state = { ...state, promptId, submitted: true };
          socket.live.promptId = promptId;
          await ctx.saveJob(state);
        } else {
          ctx.log.info(`comfyui: task ${job.taskId}: resuming prompt ${state.promptId}`);
        }
        const entry = await follow(job, ctx, state, socket);
        return await fetchOutput(job, ctx, state, entry);
      } finally {
        socket.close();
      }
    },

    async cancel(saved, log) {
      const state = readState(saved);
      if (!state) return;
      const o = { signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS), log };
      const interrupt = () => request('/interrupt', { json: { prompt_id: state.promptId } }, { ...o, what: 'interrupt' });
      const place = await locate(state.promptId, o).catch(() => null);
      if (place?.at === 'running') {
        await interrupt();
        log.info(`comfyui: prompt ${state.promptId} interrupted`);
      } else if (place === null || place.at === 'pending') {
        await request('/queue', { json: { delete: [state.promptId] } }, { ...o, what: 'queue delete' });
        log.info(`comfyui: prompt ${state.promptId} deleted from the queue`);
        // it may have started between the look and the delete
        const now = await locate(state.promptId, o).catch(() => null);
        if (now?.at === 'running') {
          await interrupt();
          log.info(`comfyui: prompt ${state.promptId} interrupted`);
        }
      }
    },
  };
}

const newState = (): ComfyJobState => ({ v: 1, promptId: randomUUID(), clientId: randomUUID().replaceAll('-', ''), submitted: false });

/** The server's validation error, short, for the log: `{error: {message, details} | string, node_errors}`. */
function describeRefusal(body: any): string {
  if (!body) return 'no JSON body';
  const e = body.error;
  const head = typeof e === 'string' ? e : [e?.type, e?.message, e?.details].filter(Boolean).join(': ');
  const nodes = body.node_errors && Object.keys(body.node_errors).length ? `; ${describeNodeErrors(body.node_errors)}` : '';
  return `${head}${nodes}`.slice(0, 1000);
}

function describeNodeErrors(nodeErrors: Record<string, any>): string {
  return Object.entries(nodeErrors)
    .map(([id, n]) => `#${id} ${n?.class_type ?? ''}: ${(n?.errors ?? []).map((x: any) => `${x?.message}: ${x?.details}`).join(', ')}`)
    .join('; ');
}

// ---------------------------------------------------------------------------------------------------------------
// The socket

/** What the socket and the poll know of the prompt, and the progress reported from it. */
class Live {
  promptId = '';
  running = false;
  progress: number | null = null;
  queuePosition: number | null = null;
  private wakeUp: (() => void) | null = null;
  private pendingWake = false;

  constructor(private ctx: ProviderContext) {}

  queued(ahead: number) {
    if (this.running) return;
    this.queuePosition = ahead;
    this.report();
  }

  started() {
    if (!this.running) {
      this.running = true;
      this.queuePosition = null;
      this.progress ??= 0;
      this.report();
    }
  }

  stepped(value: number, max: number) {
    this.started();
    if (max > 0) this.progress = Math.min(99, Math.max(0, Math.floor((value / max) * 100)));
    this.report();
  }

  report() {
    if (this.running) this.ctx.progress({ progress: this.progress, queuePosition: null });
    else if (this.queuePosition !== null) this.ctx.progress({ queuePosition: this.queuePosition });
  }

  /** Poll again now (the prompt may have finished, or the queue moved). */
  wake() {
    if (this.wakeUp) this.wakeUp();
    else this.pendingWake = true; // the poll is busy: it looks again as soon as it is done
  }

  /** Waits `ms`, less when woken; rejects when the task's signal aborts. */
  sleep(ms: number, signal: AbortSignal): Promise<void> {
    if (this.pendingWake) {
      this.pendingWake = false;
      ms = Math.min(ms, 50);
    }
    return new Promise((resolve, reject) => {
      if (signal.aborted) return reject(signal.reason);
      const finish = () => {
        clearTimeout(timer);
        signal.removeEventListener('abort', onAbort);
        this.wakeUp = null;
        resolve();
      };
      const onAbort = () => {
        clearTimeout(timer);
        this.wakeUp = null;
        reject(signal.reason);
      };
      const timer = setTimeout(finish, ms);
      this.wakeUp = finish;
      signal.addEventListener('abort', onAbort, { once: true });
    });
  }
}

/**
 * The /ws socket of one prompt's client id. It only speeds things up: progress as it happens and an early wake of
 * the poll; when it cannot connect or drops, the history poll carries on alone (and the socket is retried).
 */
class PromptSocket {
  readonly live: Live;
  private ws: WebSocket | null = null;
  private lastAttempt = 0;
  private closed = false;
  private warned = false;
  private ready: Promise<void> = Promise.resolve();

  constructor(
    private url: string,
    private headers: Record<string, string>,
    private ctx: ProviderContext,
  ) {
    this.live = new Live(ctx);
    this.ensureOpen();
  }

  /** Resolves once the socket is open, failed, or SOCKET_OPEN_TIMEOUT_MS passed. */
  opened(): Promise<void> {
    return this.ready;
  }

  ensureOpen() {
    if (this.closed || this.ctx.signal.aborted) return;
    if (this.ws && this.ws.readyState <= WebSocket.OPEN) return;
    if (Date.now() - this.lastAttempt < SOCKET_RETRY_MS) return;
    this.lastAttempt = Date.now();
    let ws: WebSocket;
    try {
      // Bun's WebSocket takes headers (the proxy's token) in its options
      ws = new WebSocket(this.url, { headers: this.headers });
    } catch (e) {
      this.warn(`cannot open the socket: ${(e as Error).message}`);
      return;
    }
    ws.binaryType = 'arraybuffer';
    this.ws = ws;
    this.ready = new Promise<void>((resolve) => {
      const t = setTimeout(resolve, SOCKET_OPEN_TIMEOUT_MS);
      const done = () => {
        clearTimeout(t);
        resolve();
      };
      ws.addEventListener('open', done, { once: true });
      ws.addEventListener('close', done, { once: true });
    });
    ws.addEventListener('message', (ev) => this.onMessage(ev.data));
    ws.addEventListener('close', (ev) => {
      if (!this.closed && !this.ctx.signal.aborted) this.warn(`socket closed (${ev.code}); polling the history`);
    });
  }

  close() {
    this.closed = true;
    this.ws?.close();
    this.ws = null;
  }

  private warn(msg: string) {
    if (this.warned) return; // once per task: the poll goes on either way
    this.warned = true;
    this.ctx.log.warn(`comfyui: prompt ${this.live.promptId}: ${msg}`);
  }

  private onMessage(data: unknown) {
    if (typeof data !== 'string') return; // binary frames are previews of the image being sampled
    let msg: { type?: string; data?: Record<string, any> };
    try {
      msg = JSON.parse(data);
    } catch {
      return;
    }
    const d = msg.data ?? {};
    // events name their prompt; a server too old to do so sends this client's events only
    const ours = d.prompt_id === undefined || d.prompt_id === this.live.promptId;
    switch (msg.type) {
      case 'status': // the queue changed: look at our position again
        if (!this.live.running) this.live.wake();
        return;
      case 'execution_start':
        if (ours) this.live.started();
        return;
      case 'executing':
        if (!ours) return;
        if (d.node === null || d.node === undefined) this.live.wake(); // finished: the history has it now
        else this.live.started();
        return;
      case 'progress':
        if (ours && typeof d.value === 'number' && typeof d.max === 'number') this.live.stepped(d.value, d.max);
        return;
      case 'execution_success':
      case 'execution_error':
      case 'execution_interrupted':
        if (ours) this.live.wake();
        return;
      default: // execution_cached, executed, progress_state, feature_flags, custom nodes' events
        return;
    }
  }
}

export const comfyuiProvider: ProviderEntry<ComfyUISettings> = {
  settings: readComfyUISettings,
  create: createComfyUIProvider,
};
