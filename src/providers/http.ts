// HTTP helpers every remote provider shares: retries of 429 and 5xx (Retry-After, or exponential backoff with
// jitter), an abortable sleep, and the bounded download of an output. Nothing here logs a header or a URL's
// query (API keys and signed links stay out of the logs).
import type { Logger } from '../logger';
import { ProviderUnavailable } from './types';

export interface RetryOptions {
  signal: AbortSignal;
  log: Logger;
  /** what is being asked, for the log ("openai images/generations") */
  what: string;
  /** retries after the first attempt (default 4) */
  retries?: number;
  /** the first backoff, doubled each time (default 500 ms), and the largest wait (default 30 s) */
  baseDelayMs?: number;
  maxDelayMs?: number;
  /**
   * false for a request that must not run twice (a submit that creates a paid job): then only answers that say
   * the request was refused unprocessed are retried (HTTP 429, a refused connection), never a 5xx or a connection
   * lost mid-request, after which the provider may have created the job. Default true.
   */
  idempotent?: boolean;
}

/** Sleeps, or rejects with the signal's reason when it aborts first. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(t);
      reject(signal?.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** Seconds or an HTTP date in Retry-After, as milliseconds; null when absent or unreadable. */
export function retryAfterMs(header: string | null, now = Date.now()): number | null {
  if (!header) return null;
  const s = header.trim();
  if (/^\d+(\.\d+)?$/.test(s)) return Number(s) * 1000;
  const at = Date.parse(s);
  return Number.isNaN(at) ? null : Math.max(0, at - now);
}

export const isRetryable = (status: number) => status === 429 || status >= 500;

/** The path of a URL without its query (signed links carry credentials there), for log lines. */
export const safeUrl = (url: string) => {
  try {
    const u = new URL(url);
    return `${u.origin}${u.pathname}`;
  } catch {
    return '(url)';
  }
};

/** A connection that was refused (nothing was sent), as Bun's and Node's fetch report it. */
const refusedConnection = (e: unknown) => /ConnectionRefused|ECONNREFUSED/.test(`${(e as { code?: string })?.code ?? ''} ${(e as Error)?.message ?? ''}`);

/**
 * fetch with retries: 429 and 5xx answers and network errors are retried up to `retries` times (for a
 * non-idempotent request only 429 and a refused connection), waiting Retry-After when the answer has one, else
 * base·2^n with ±50% jitter; any other answer is returned as is. After the last retry: ProviderUnavailable.
 * An abort rejects at once with the signal's reason.
 */
export async function fetchRetrying(url: string, init: RequestInit, o: RetryOptions): Promise<Response> {
  const retries = o.retries ?? 4;
  const base = o.baseDelayMs ?? 500;
  const cap = o.maxDelayMs ?? 30_000;
  const idempotent = o.idempotent ?? true;
  for (let attempt = 0; ; attempt++) {
    let res: Response | null = null;
    let why: string;
    try {
      res = await fetch(url, { ...init, signal: o.signal });
      if (!(idempotent ? isRetryable(res.status) : res.status === 429)) return res;
      why = `HTTP ${res.status}`;
    } catch (e) {
      if (o.signal.aborted) throw o.signal.reason;
      if (!idempotent && !refusedConnection(e)) {
        o.log.warn(`${o.what}: ${(e as Error).message}; not retried (the provider may have accepted it)`);
        throw new ProviderUnavailable(`${o.what}: ${(e as Error).message}`);
      }
      why = (e as Error).message;
    }
    if (attempt >= retries) {
      o.log.warn(`${o.what}: giving up after ${attempt + 1} attempts (${why})`);
      throw new ProviderUnavailable(`${o.what}: ${why}`);
    }
    const hinted = res ? retryAfterMs(res.headers.get('retry-after')) : null;
    const backoff = base * 2 ** attempt * (0.5 + Math.random());
    const wait = Math.min(cap, hinted ?? backoff);
    await res?.body?.cancel().catch(() => {});
    o.log.warn(`${o.what}: ${why}; retry ${attempt + 1}/${retries} in ${Math.round(wait)} ms`);
    await sleep(wait, o.signal);
  }
}

export interface DownloadLimits {
  /** largest output accepted, in bytes */
  maxBytes: number;
  /** longest the download may take */
  timeoutMs: number;
}

/**
 * Downloads a provider's output link into memory, refusing more than maxBytes or more than timeoutMs. An expired
 * or missing link (403, 404, 410) or a failed download is ProviderUnavailable.
 */
export async function downloadOutput(
  url: string,
  limits: DownloadLimits,
  o: { signal: AbortSignal; log: Logger; what: string; headers?: Record<string, string> },
): Promise<{ bytes: Uint8Array; mime: string | null }> {
  const signal = AbortSignal.any([o.signal, AbortSignal.timeout(limits.timeoutMs)]);
  const res = await fetchRetrying(url, { headers: o.headers }, { signal, log: o.log, what: o.what, retries: 2 });
  if (!res.ok) {
    await res.body?.cancel().catch(() => {});
    o.log.warn(`${o.what}: HTTP ${res.status} for ${safeUrl(url)}`);
    throw new ProviderUnavailable(`${o.what}: output link answered HTTP ${res.status}`);
  }
  const declared = Number(res.headers.get('content-length') ?? 0);
  if (declared > limits.maxBytes) {
    await res.body?.cancel().catch(() => {});
    throw new ProviderUnavailable(`${o.what}: output of ${declared} bytes is over the ${limits.maxBytes}-byte limit`);
  }
  const chunks: Uint8Array[] = [];
  let size = 0;
  const reader = res.body!.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > limits.maxBytes) {
      await reader.cancel().catch(() => {});
      throw new ProviderUnavailable(`${o.what}: output is over the ${limits.maxBytes}-byte limit`);
    }
    chunks.push(value);
  }
  const bytes = new Uint8Array(size);
  let at = 0;
  for (const c of chunks) {
    bytes.set(c, at);
    at += c.byteLength;
  }
  return { bytes, mime: res.headers.get('content-type') };
}

/** JSON of a response, or null when it is not JSON (error bodies are not always). */
export async function jsonOrNull(res: Response): Promise<any> {
  const text = await res.text();
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}
