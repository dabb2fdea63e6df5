// The `openai` moderator: an OpenAI-compatible `POST {base}/moderations` (OpenAI's omni-moderation models, and
// gateways that speak the same protocol).
//
//   request  { model: "omni-moderation-latest", input: "text" }                                   (a prompt)
//            { model, input: [{ type: "text", text }?, { type: "image_url", image_url: { url: "data:…" } }] }
//   answer   { id, model, results: [{ flagged, categories: {name: bool}, category_scores: {name: number},
//                                     category_applied_input_types: {name: ["text"|"image"]} }] }
//   errors   { error: { message, type, param, code } }: 401 a wrong key, 429 a rate limit, 400 bad input, 5xx
//
// The API takes one image per request ("Number of images (2) exceeds maximum of 1"), so images are sent one per
// request (the text with the first), a few at a time, and the answers combined.
// Decision: any result flagged → reject (categories: the true ones, plus those over the threshold); else any
// category score ≥ reviewThreshold → review; else approve.
// 429, 5xx and network errors are retried a little within the check's time budget (timeoutMs); what still fails,
// and 400/401/403/404, makes the service "unavailable" and MODERATION_FAIL decides (open: approve, closed: reject).
// The key goes in the Authorization header only, and never into a log line or a verdict's detail.
import type { Logger } from '../logger';
import { sniffImage } from '../media';
import { isRetryable, retryAfterMs, safeUrl, sleep } from '../providers/http';
import { MODERATION_DEFAULTS, MODERATION_MESSAGES, type ModerationImage, type ModerationSettings, type Moderator, type Verdict } from './types';

export interface OpenAIModeratorOptions {
  log: Logger;
  fetch?: typeof fetch;
  /** retries after the first attempt (default 2) and the first backoff (default 250 ms, doubled each time) */
  retries?: number;
  baseDelayMs?: number;
  /** images checked at once (default 4) */
  concurrency?: number;
}

/** The longest wait between attempts, whatever Retry-After says (the user is waiting). */
const MAX_DELAY_MS = 2000;
/** A moderation answer is a few kilobytes; a runaway answer is not read. */
const MAX_ANSWER_BYTES = 1024 * 1024;

type Part = { type: 'text'; text: string } | { type: 'image_url'; image_url: { url: string } };

/** What one request came to: a usable set of results, or the reason the service is unavailable. */
type Outcome = { ok: true; flagged: Set<string>; anyFlagged: boolean; scores: Record<string, number> } | { ok: false; reason: string };

/** A data URL of an image; the bytes' own signature decides the type when it is one we know. */
export function dataUrl(img: ModerationImage): string {
  const kind = sniffImage(img.bytes);
  const mime = kind ? `image/${kind}` : img.mime || 'application/octet-stream';
  return `data:${mime};base64,${Buffer.from(img.bytes).toString('base64')}`;
}

/** The `{"error":{…}}` body of an error answer, as "code / type param=…: message" (tolerant of other shapes). */
function describeError(body: unknown): { label: string; message: string } {
  const e = ((body as { error?: unknown })?.error ?? body ?? {}) as Record<string, unknown>;
  const s = (v: unknown) => (typeof v === 'string' ? v : typeof v === 'number' ? String(v) : '');
  const label = [s(e.code), s(e.type)].filter(Boolean).join(' / ') + (s(e.param) ? ` param=${s(e.param)}` : '');
  return { label, message: s(e.message) };
}

/** Reads the flagged categories and scores of an answer; null when it is not a moderation answer. */
export function readResults(body: unknown): Omit<Extract<Outcome, { ok: true }>, 'ok'> | null {
  const results = (body as { results?: unknown })?.results;
  if (!Array.isArray(results) || results.length === 0) return null;
  const flagged = new Set<string>();
  const scores: Record<string, number> = {};
  let anyFlagged = false;
  for (const r of results) {
    if (!r || typeof r !== 'object') return null;
    const { flagged: f, categories, category_scores } = r as Record<string, unknown>;
    if (typeof f !== 'boolean') return null;
    anyFlagged ||= f;
    if (categories && typeof categories === 'object') {
      for (const [k, v] of Object.entries(categories)) if (v === true) flagged.add(k);
    }
    if (category_scores && typeof category_scores === 'object') {
      // omni-moderation answers null for categories that do not apply to the input
      for (const [k, v] of Object.entries(category_scores)) {
        if (typeof v === 'number' && Number.isFinite(v)) scores[k] = Math.max(scores[k] ?? 0, v);
      }
    }
  }
  return { flagged, anyFlagged, scores };
}

/** approve / review / reject from combined results (see the header). */
export function decide(flagged: Set<string>, anyFlagged: boolean, scores: Record<string, number>, threshold: number): Pick<Verdict, 'decision' | 'categories'> {
  const categories = new Set(flagged);
  for (const [k, v] of Object.entries(scores)) if (v >= threshold) categories.add(k);
  const decision = anyFlagged || flagged.size > 0 ? 'reject' : categories.size > 0 ? 'review' : 'approve';
  return { decision, categories: [...categories].sort() };
}

export function createOpenAIModerator(s: ModerationSettings, o: OpenAIModeratorOptions): Moderator {
  const doFetch = o.fetch ?? fetch;
  const apiKey = s.apiKey ?? '';
  const base = (s.baseUrl ?? MODERATION_DEFAULTS.baseUrl).replace(/\/+$/, '');
  const url = `${base}/moderations`;
  const model = s.model ?? MODERATION_DEFAULTS.model;
  const timeoutMs = s.timeoutMs ?? MODERATION_DEFAULTS.timeoutMs;
  const retries = o.retries ?? 2;
  const baseDelay = o.baseDelayMs ?? 250;
  const concurrency = Math.max(1, o.concurrency ?? 4);
  const what = `moderation (openai ${safeUrl(url)})`;

  /** The provider's words for the log, never the key (some servers echo part of it). */
  const redact = (text: string) => (apiKey.length >= 4 ? text.split(apiKey).join('[key]') : text).replace(/\s+/g, ' ').slice(0, 300);

  async function readJson(res: Response): Promise<unknown> {
    const declared = Number(res.headers.get('content-length') ?? 0);
    if (declared > MAX_ANSWER_BYTES) {
      await res.body?.cancel().catch(() => {});
      throw new Error(`answer of ${declared} bytes is over the limit`);
    }
    const text = await res.text();
    if (text.length > MAX_ANSWER_BYTES) throw new Error('answer is over the size limit');
    try {
      return JSON.parse(text);
    } catch {
      return null;
    }
  }

  /** Why a final non-2xx answer makes the service unavailable, in words fit for the log. */
  async function failure(res: Response): Promise<string> {
    const body = await readJson(res).catch(() => null);
    const e = describeError(body);
    if (res.status === 401 || res.status === 403) {
      // a 401's message quotes the key in part: not even that goes to the log
      return `HTTP ${res.status} ${e.label || 'unauthorized'} (check MODERATION_API_KEY / OPENAI_API_KEY)`;
    }
    return `HTTP ${res.status}${e.label ? ` ${e.label}` : ''}${e.message ? `: ${redact(e.message)}` : ''}`;
  }

  /** One moderation request, with retries of 429, 5xx and network errors inside the deadline. */
  async function request(input: string | Part[], caller: AbortSignal | undefined, deadline: number): Promise<Outcome> {
    const body = JSON.stringify({ model, input });
    const headers = { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' };
    for (let attempt = 0; ; attempt++) {
      const left = deadline - Date.now();
      if (left <= 0) return { ok: false, reason: `no answer within ${timeoutMs} ms` };
      const timer = AbortSignal.timeout(left);
      const signal = caller ? AbortSignal.any([caller, timer]) : timer;
      let why: string;
      let res: Response | null = null;
      try {
        res = await doFetch(url, { method: 'POST', headers, body, signal });
        if (res.ok) {
          const results = readResults(await readJson(res));
          return results ? { ok: true, ...results } : { ok: false, reason: 'the answer has no results[] (not a moderation API?)' };
        }
        if (!isRetryable(res.status)) return { ok: false, reason: await failure(res) };
        why = `HTTP ${res.status}`;
      } catch (e) {
        if (caller?.aborted) throw caller.reason;
        if (timer.aborted) return { ok: false, reason: `no answer within ${timeoutMs} ms` };
        why = redact((e as Error)?.message ?? String(e));
      }
      if (attempt >= retries) return { ok: false, reason: `${why} (after ${attempt + 1} attempts)` };
      const hinted = res ? retryAfterMs(res.headers.get('retry-after')) : null;
      const wait = Math.min(MAX_DELAY_MS, hinted ?? baseDelay * 2 ** attempt * (0.5 + Math.random()));
      await res?.body?.cancel().catch(() => {});
      if (Date.now() + wait >= deadline) return { ok: false, reason: `${why} (no time left to retry within ${timeoutMs} ms)` };
      o.log.warn(`${what}: ${why}; retry ${attempt + 1}/${retries} in ${Math.round(wait)} ms`);
      await sleep(wait, caller);
    }
  }

  /** The verdict of combined outcomes: a reject stands even if another request failed; else a failure decides. */
  function verdictOf(outcomes: Outcome[], rejectMessage: string): Verdict {
    const flagged = new Set<string>();
    const scores: Record<string, number> = {};
    let anyFlagged = false;
    const failures: string[] = [];
    for (const r of outcomes) {
      if (!r.ok) {
        failures.push(r.reason);
        continue;
      }
      anyFlagged ||= r.anyFlagged;
      for (const c of r.flagged) flagged.add(c);
      for (const [k, v] of Object.entries(r.scores)) scores[k] = Math.max(scores[k] ?? 0, v);
    }
    const { decision, categories } = decide(flagged, anyFlagged, scores, s.reviewThreshold);
    if (failures.length > 0 && decision !== 'reject') return unavailable(failures[0]);
    const message = decision === 'reject' ? rejectMessage : decision === 'review' ? MODERATION_MESSAGES.review : null;
    const verdict: Verdict = { decision, provider: 'openai', categories, scores, message };
    if (decision !== 'approve') verdict.detail = `openai: ${anyFlagged ? 'flagged' : 'scored'} ${categories.join(', ')}`;
    return verdict;
  }

  /** The verdict MODERATION_FAIL gives when the service could not decide (`why`: "unavailable", "cannot check"). */
  function unavailable(reason: string, why = 'unavailable'): Verdict {
    const open = s.failMode === 'open';
    o.log.warn(`${what}: ${why}: ${reason}; MODERATION_FAIL=${s.failMode} → ${open ? 'approve' : 'reject'}`);
    return {
      decision: open ? 'approve' : 'reject',
      provider: 'openai',
      categories: [],
      scores: {},
      message: open ? null : MODERATION_MESSAGES.unavailable,
      unavailable: true,
      detail: reason,
    };
  }

  async function checkText(text: string, signal?: AbortSignal): Promise<Verdict> {
    signal?.throwIfAborted();
    if (text.trim() === '') return { decision: 'approve', provider: 'openai', categories: [], scores: {}, message: null };
    const outcome = await request(text, signal, Date.now() + timeoutMs);
    return verdictOf([outcome], MODERATION_MESSAGES.text);
  }

  async function checkImages(images: ModerationImage[], text?: string, signal?: AbortSignal): Promise<Verdict> {
    signal?.throwIfAborted();
    if (images.length === 0) return checkText(text ?? '', signal);
    const deadline = Date.now() + timeoutMs;
    const inputs: Part[][] = images.map((img, i) => {
      const parts: Part[] = [];
      if (i === 0 && text && text.trim() !== '') parts.push({ type: 'text', text });
      parts.push({ type: 'image_url', image_url: { url: dataUrl(img) } });
      return parts;
    });
    // a few at a time; once one is rejected the rest are not sent
    const outcomes: Outcome[] = [];
    let nextIndex = 0;
    let rejected = false;
    const worker = async () => {
      while (!rejected && nextIndex < inputs.length) {
        const r = await request(inputs[nextIndex++], signal, deadline);
        outcomes.push(r);
        if (r.ok && (r.anyFlagged || r.flagged.size > 0)) rejected = true;
      }
    };
    await Promise.all(Array.from({ length: Math.min(concurrency, inputs.length) }, worker));
    return verdictOf(outcomes, MODERATION_MESSAGES.images);
  }

  return { mode: 'openai', checksImages: true, checkText, checkImages, unchecked: (reason) => unavailable(reason, 'cannot check') };
}
