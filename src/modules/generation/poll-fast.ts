// The poll answered before Elysia (issue 15): `GET /api/v1/generation/{taskId}` is the one request every client
// sends every 2 s, and once the read cache (http/read-cache.ts) knows the task's row and the session, all that is
// left to do is a few microseconds of work — while Elysia's request pipeline (hooks, routing, validation, the
// response schema) costs several times that. So the app's `handle` first offers each request to this function;
// it answers only the plain case that the cache fully knows, and returns undefined for everything else (another
// path or method, a query string, a body, an unusual Authorization header, a token not verified before, a task or
// session the cache does not hold), which Elysia then serves as always, with the same checks and answers.
//
// An answer, once made, is kept per token and task and served again while nothing it was made from can have changed
// (the Answer interface below says what is checked); past that the checks run again in full and make a new one.
//
// What it answers is byte for byte what the route in index.ts answers (test/poll-cache.test.ts compares them),
// with the same response headers (X-Request-Id, CORS), the same access line and the same request metric.
import type { RecordAccess } from '../../http/access-log';
import { REQUEST_ID_HEADER, requestIdFrom } from '../../http/access-log';
import { type CorsSettings, corsHeaders } from '../../http/cors';
import { linkStepMemo } from '../../http/result-links';
import { type ReadCache, readCacheOf } from '../../http/read-cache';
import type { Tokens } from '../../http/tokens';
import { type CachedTask, cachedView, type CachedView, type GenerationDeps, TASK_ID, taskView } from './service';

const PREFIX = '/api/v1/generation/';
/** the route's pattern, as the access line and the metric name it */
export const POLL_ROUTE = '/api/v1/generation/:taskId';
const TASK_ID_LENGTH = 25; // task_ + 20 hex digits
const CONTENT_TYPE = 'application/json;charset=utf-8';

export interface PollFastOptions {
  d: Pick<GenerationDeps, 'db' | 'links'>;
  tokens: Tokens;
  cors: CorsSettings;
  record: RecordAccess;
}

/** How long an answer is reused at most (ms): every condition that depends on time is looked at again this often. */
export const ANSWER_MAX_MS = 1_000;
/** tokens whose answers are kept (the oldest forgotten first), and tasks per token (a client polling several) */
const MAX_TOKENS = 10_000;
const TASKS_PER_TOKEN = 4;

/**
 * The answer to one token's poll of one task, reused while nothing it was made from can have changed: the read
 * cache's epoch is the same (any task change, logout or reconnection bumps it), its entries and the session have
 * not expired, the token has not expired, the signed link's expiry step is the same, and at most ANSWER_MAX_MS.
 */
interface Answer {
  taskId: string;
  cache: ReadCache;
  epoch: number;
  /** performance.now() before which it may be served (the cache entries' ends, ANSWER_MAX_MS) */
  until: number;
  /** Date.now() before which it may be served (the token's and the session's expiry) */
  wallUntil: number;
  /** the expiry step of the signed link in the body (result-links.ts), or undefined for a body without one */
  linkExp: string | undefined;
  userId: number;
  body: string;
}

/** Returns the poll's Response when it can answer from memory alone, else undefined (let Elysia serve it). */
export function pollFastPath(o: PollFastOptions): (req: Request) => Response | undefined {
  const { d, tokens, record } = o;
  // the body without `signed_url`, per cached row; with it, per row the last one built (the link is the same for a
  // session for a quarter of its TTL, see result-links.ts)
  const plain = new WeakMap<CachedTask, string>();
  const signed = linkStepMemo<CachedTask>();
  const corsOn = o.cors.corsOrigins !== null;
  // Answers by Authorization header. Measured (bench/compare-poll.ts, binary without against with them, 6 rounds,
  // 32 connections): PostgreSQL 70,211 -> 85,895 req/s, p99 1.86 -> 1.66 ms; embedded 79,531 -> 85,663 req/s,
  // p99 1.76 -> 1.50 ms.
  const answers = new Map<string, Answer[]>();

  /** The body for a cached view: without `signed_url` per row, with it per row, session and link step (`linkExp`). */
  const bodyOf = (hit: CachedView, sessionId: string, linkExp: string | undefined): string => {
    const links = d.links;
    const resultUrl = hit.view.data.result_url;
    if (!links || resultUrl === undefined || linkExp === undefined) {
      let body = plain.get(hit.row);
      if (body === undefined) plain.set(hit.row, (body = envelope(hit.view)));
      return body;
    }
    return signed(hit.row, sessionId, linkExp, () => {
      const url = links.sign(resultUrl, sessionId);
      return envelope(taskView(hit.row, () => url));
    });
  };

  const answer = (h: Headers, body: string, userId: number, started: number): Response => {
    const reqId = requestIdFrom(h.get(REQUEST_ID_HEADER));
    // literal keys ('x-request-id' is REQUEST_ID_HEADER): an object of one fixed shape per answer
    const headers: Record<string, string> = corsOn
      ? { 'content-type': CONTENT_TYPE, 'x-request-id': reqId, ...corsHeaders(o.cors, h.get('origin')) }
      : { 'content-type': CONTENT_TYPE, 'x-request-id': reqId };
    const res = new Response(body, { headers });
    record('GET', POLL_ROUTE, 200, started, userId, reqId, true); // at debug, as the route's (access-log.ts)
    return res;
  };

  const keep = (auth: string, a: Answer) => {
    let list = answers.get(auth);
    if (list === undefined) {
      if (answers.size >= MAX_TOKENS) answers.delete(answers.keys().next().value as string);
      answers.set(auth, (list = []));
    }
    const i = list.findIndex((x) => x.taskId === a.taskId);
    if (i >= 0) list[i] = a;
    else if (list.push(a) > TASKS_PER_TOKEN) list.shift();
  };

  return (req) => {
    if (req.method !== 'GET') return undefined;
    const url = req.url;
    const start = url.indexOf('/', url.indexOf('//') + 2);
    if (start < 0 || url.length - start !== PREFIX.length + TASK_ID_LENGTH || !url.startsWith(PREFIX, start)) return undefined;
    const taskId = url.slice(start + PREFIX.length);
    if (!TASK_ID.test(taskId)) return undefined;
    const h = req.headers;
    const auth = h.get('authorization');
    if (auth === null || !auth.startsWith('Bearer ') || auth.indexOf(' ', 7) !== -1) return undefined;
    // a GET with a body goes through the request guard (its size limit)
    if (h.get('content-length') !== null || h.get('transfer-encoding') !== null) return undefined;
    const started = performance.now();
    const cache = readCacheOf(d.db);
    if (cache === undefined) return undefined;
    const kept = answers.get(auth);
    if (kept !== undefined) {
      for (const a of kept) {
        if (a.taskId !== taskId) continue;
        if (
          a.cache === cache &&
          a.epoch === cache.epoch() &&
          started < a.until &&
          Date.now() < a.wallUntil &&
          cache.live &&
          (a.linkExp === undefined || a.linkExp === d.links?.expiry())
        )
          return answer(h, a.body, a.userId, started);
        break;
      }
    }
    const token = tokens.peek(auth.slice(7));
    if (!token) return undefined;
    const { claims } = token;
    const epoch = cache.epoch();
    const hit = cachedView(d, claims, taskId);
    if (!hit) return undefined;
    const linkExp = d.links && hit.view.data.result_url !== undefined ? d.links.expiry() : undefined;
    const body = bodyOf(hit, claims.sessionId, linkExp);
    const usable = cache.entriesUntil(taskId, claims.sessionId);
    if (usable)
      keep(auth, {
        taskId,
        cache,
        epoch,
        until: Math.min(usable.at, started + ANSWER_MAX_MS),
        wallUntil: Math.min(token.exp * 1000, usable.expiresAt),
        linkExp,
        userId: claims.userId,
        body,
      });
    return answer(h, body, claims.userId, started);
  };
}

const envelope = (v: { message: string; data: unknown }) => JSON.stringify({ code: 200, message: v.message, data: v.data });
