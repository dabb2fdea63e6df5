// Request ids and the access log (issue 14).
//
// Every request gets an id: the client's `X-Request-Id` when it is a sane token (at most 128 of [A-Za-z0-9._:-]),
// else a new UUID. The id is sent back in `X-Request-Id` on every response, whatever produced it (a route, the
// request guard's early 413, the error handler's 401/404/500, a file, an event stream); the error handler puts it in
// the body of a 500 (requestIdOf); and every log line written while the request is handled carries it (`reqId`,
// through the logger's request context, src/logger.ts).
//
// When the response is ready, one access line: method, route pattern (never the raw path, which holds ids), status,
// duration, user id (when the route authenticated one) and request id; and the same request in the
// http_request_duration_seconds histogram. Probes and scrapes (/healthz, /readyz, /metrics) that succeed are logged
// at debug level only, so that an orchestrator polling every few seconds does not drown the log; so is a poll that
// answers a task (GET /api/v1/generation/{taskId} with the task: every client sends one every 2 s per running task,
// and its access line cost a quarter of the poll's throughput, issue 15). A poll refused (401) or of an unknown task
// (code 400 in the envelope) keeps its line at info, and the metric counts every poll.
//
// It works as an Elysia `wrap` (around the whole request handling, so it also sees the responses that an onRequest
// hook returns early, which skip every later hook) plus an onRequest hook, registered first, that keeps the
// request's context (its matched route and resolved user) for the line.
import { Elysia } from 'elysia';
import { type LogContext, type Logger, runWithLogContext } from '../logger';
import type { Metrics } from '../ops/metrics';

export const REQUEST_ID_HEADER = 'x-request-id';

const SANE_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** The client's request id if it is a sane token, else a new UUID. */
export function requestIdFrom(header: string | null): string {
  return header && SANE_ID.test(header) ? header : crypto.randomUUID();
}

/** The parts of Elysia's context read after the handler ran. */
interface SeenContext {
  route?: string;
  user?: { id?: unknown };
  claims?: { userId?: unknown };
}

/** One request in flight: the log context of its lines. */
class RequestState implements LogContext {
  ctx: SeenContext | undefined;
  /** the matched route's pattern */
  route: string | undefined;
  /** the route asked for its line at debug level (quietRequest) */
  quiet = false;
  ended = false;
  readonly started = performance.now();
  constructor(readonly reqId: string) {}
  get userId(): number | undefined {
    const id = this.ctx?.user?.id ?? this.ctx?.claims?.userId;
    return typeof id === 'number' ? id : undefined;
  }
}

const states = new WeakMap<Request, RequestState>();

/** The request's access line is written at debug level (a route calls it once it has answered a task's poll). */
export function quietRequest(request: Request) {
  const state = states.get(request);
  if (state) state.quiet = true;
}

/** The id of a request (the one sent back in X-Request-Id), or undefined for a request that did not pass here. */
export const requestIdOf = (request: Request): string | undefined => states.get(request)?.reqId;

/** Methods logged and counted by name; any other is `OTHER` (a client must not create metric series at will). */
const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);

/** Routes polled by machines: their successful requests are logged at debug level. */
const QUIET_ROUTES = new Set(['/healthz', '/readyz', '/metrics']);

/** `res` with the X-Request-Id header (a copy when its headers are immutable, e.g. a fetched or redirect Response). */
function withId(res: Response, id: string): Response {
  if (res.headers.get(REQUEST_ID_HEADER) === id) return res;
  try {
    res.headers.set(REQUEST_ID_HEADER, id);
    return res;
  } catch {
    const headers = new Headers(res.headers);
    headers.set(REQUEST_ID_HEADER, id);
    return new Response(res.body, { status: res.status, statusText: res.statusText, headers });
  }
}

export interface AccessLogOptions {
  log: Logger;
  /** where request durations are counted; none ⇒ only logged */
  metrics?: Pick<Metrics, 'httpRequest'>;
}

/**
 * Writes one access line and counts the request; `started` is performance.now() when it arrived; `quiet`: the line at
 * debug level when the answer succeeded (below HTTP 400).
 */
export type RecordAccess = (method: string, route: string, status: number, started: number, userId: number | undefined, reqId: string, quiet?: boolean) => void;

/** The access line and metric of one request, for the plugin below and for routes answered before Elysia (poll-fast.ts). */
export function accessRecorder(o: AccessLogOptions): RecordAccess {
  return (rawMethod, route, status, started, userId, reqId, quietRoute = false) => {
    const seconds = (performance.now() - started) / 1000;
    const method = METHODS.has(rawMethod) ? rawMethod : 'OTHER';
    o.metrics?.httpRequest(method, route, status, seconds);
    const durationMs = Math.round(seconds * 10_000) / 10;
    const quiet = (quietRoute || QUIET_ROUTES.has(route)) && status < 400;
    if (o.log.access) return o.log.access({ method, route, status, durationMs, userId, reqId }, quiet);
    const fields = { method, route, status, durationMs, ...(userId === undefined ? {} : { userId }), reqId };
    const msg = `${method} ${route} ${status} ${durationMs} ms`;
    if (quiet) o.log.debug?.(msg, fields);
    else o.log.info(msg, fields);
  };
}

/** The access-log plugin: `.use(accessLog(...))` FIRST in an app, before any other onRequest hook. */
export const accessLog = (o: AccessLogOptions) => {
  const record = accessRecorder(o);
  const finish = (request: Request, state: RequestState, status: number) =>
    record(request.method, state.route || state.ctx?.route || 'unmatched', status, state.started, state.userId, state.reqId, state.quiet);
  return new Elysia({ name: 'access-log' })
    .onRequest((c) => {
      const state = states.get(c.request);
      if (!state) return;
      state.ctx = c as unknown as SeenContext;
      c.set.headers[REQUEST_ID_HEADER] = state.reqId;
    })
    // reading `route` here makes Elysia record every matched route's pattern in its context (it only does so for
    // hooks that ask for it); the transform phase comes before validation and authentication can fail
    .onTransform({ as: 'global' }, ({ route, request }) => {
      const state = states.get(request);
      if (state) state.route = route;
    })
    .wrap(
      (handle, request) =>
        ((req: Request) => {
          const state = new RequestState(requestIdFrom(request.headers.get(REQUEST_ID_HEADER)));
          states.set(req, state);
          return runWithLogContext(state, async () => {
            let res: Response;
            try {
              res = await (handle as unknown as (r: Request) => Response | Promise<Response>)(req);
            } catch (e) {
              // Elysia maps errors to responses itself; this is only a safety net
              finish(req, state, 500);
              state.ended = true;
              throw e;
            }
            res = withId(res, state.reqId);
            finish(req, state, res.status);
            // timers and streams started by the request keep this context: it must not keep the request alive
            state.ended = true;
            state.ctx = undefined;
            return res;
          });
        }) as never,
    );
};
