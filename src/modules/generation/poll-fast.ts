// The poll answered before Elysia (issue 15): `GET /api/v1/generation/{taskId}` is the one request every client
// sends every 2 s, and once the read cache (http/read-cache.ts) knows the task's row and the session, all that is
// left to do is a few microseconds of work — while Elysia's request pipeline (hooks, routing, validation, the
// response schema) costs several times that. So the app's `handle` first offers each request to this function;
// it answers only the plain case that the cache fully knows, and returns undefined for everything else (another
// path or method, a query string, a body, an unusual Authorization header, a token not verified before, a task or
// session the cache does not hold), which Elysia then serves as always, with the same checks and answers.
//
// What it answers is byte for byte what the route in index.ts answers (test/poll-cache.test.ts compares them),
// with the same response headers (X-Request-Id, CORS), the same access line and the same request metric.
import type { RecordAccess } from '../../http/access-log';
import { REQUEST_ID_HEADER, requestIdFrom } from '../../http/access-log';
import { type CorsSettings, corsHeaders } from '../../http/cors';
import { linkStepMemo } from '../../http/result-links';
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

/** Returns the poll's Response when it can answer from memory alone, else undefined (let Elysia serve it). */
export function pollFastPath(o: PollFastOptions): (req: Request) => Response | undefined {
  const { d, tokens, record } = o;
  // the body without `signed_url`, per cached row; with it, per row the last one built (the link is the same for a
  // session for a quarter of its TTL, see result-links.ts)
  const plain = new WeakMap<CachedTask, string>();
  const signed = linkStepMemo<CachedTask>();
  const corsOn = o.cors.corsOrigins !== null;

  const bodyOf = (hit: CachedView, sessionId: string): string => {
    const resultUrl = hit.view.data.result_url;
    const links = d.links;
    if (!links || resultUrl === undefined) {
      let body = plain.get(hit.row);
      if (body === undefined) plain.set(hit.row, (body = envelope(hit.view)));
      return body;
    }
    return signed(hit.row, sessionId, links.expiry(), () => {
      const url = links.sign(resultUrl, sessionId);
      return envelope(taskView(hit.row, () => url));
    });
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
    const claims = tokens.peek(auth.slice(7));
    if (!claims) return undefined;
    const hit = cachedView(d, claims, taskId);
    if (!hit) return undefined;
    const reqId = requestIdFrom(h.get(REQUEST_ID_HEADER));
    const headers: Record<string, string> = corsOn
      ? { 'content-type': CONTENT_TYPE, [REQUEST_ID_HEADER]: reqId, ...corsHeaders(o.cors, h.get('origin')) }
      : { 'content-type': CONTENT_TYPE, [REQUEST_ID_HEADER]: reqId };
    const res = new Response(bodyOf(hit, claims.sessionId), { headers });
    record('GET', POLL_ROUTE, 200, started, claims.userId, reqId, true); // at debug, as the route's (access-log.ts)
    return res;
  };
}

const envelope = (v: { message: string; data: unknown }) => JSON.stringify({ code: 200, message: v.message, data: v.data });
