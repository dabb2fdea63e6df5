// CORS for browser apps on another origin (issue 14), as the first plugin of the app: a preflight is answered here,
// before the request guard, the auth macro and the router see it (an OPTIONS preflight carries no token and no body),
// and every other response (errors, 401s, the guard's 413s and file downloads included) gets the CORS headers through
// `set.headers`, which Elysia merges into whatever response is finally sent.
//
// Rules (CORS_ORIGINS, see browser-settings.ts):
// - not set: nothing at all (no header, OPTIONS unchanged);
// - `*`: `Access-Control-Allow-Origin: *` on every response; never `Allow-Credentials` (the API uses bearer tokens,
//   which a browser sends from any origin once the preflight allows the `Authorization` header);
// - a list: the request's `Origin` is echoed when it is listed, exactly; `Vary: Origin` on every response so that
//   no cache hands one origin's answer to another; an unlisted origin gets no CORS header (its preflight is answered
//   204 without them, so the browser blocks the request).
import { Elysia } from 'elysia';
import type { BrowserSettings } from './browser-settings';

export const CORS_METHODS = 'GET, POST, PATCH, DELETE, OPTIONS';
export const CORS_ALLOW_HEADERS = 'Authorization, Content-Type, Idempotency-Key, X-Request-Id, Range';
/** Response headers a page may read besides the CORS-safelisted ones. */
export const CORS_EXPOSE_HEADERS = 'Retry-After, X-Request-Id, Content-Range, Accept-Ranges, Content-Length, Idempotent-Replayed';
/** How long a browser may keep a preflight's answer (s); browsers cap it (Chromium 2 h, Firefox 24 h). */
export const CORS_MAX_AGE = 7200;

export type CorsSettings = Pick<BrowserSettings, 'corsOrigins' | 'corsCredentials'>;

/** The CORS headers of an actual (non-preflight) response to a request from `origin`; empty when none apply. */
export function corsHeaders(s: CorsSettings, origin: string | null): Record<string, string> {
  if (s.corsOrigins === null) return {};
  if (s.corsOrigins === '*') return { 'access-control-allow-origin': '*', 'access-control-expose-headers': CORS_EXPOSE_HEADERS };
  if (origin === null || !s.corsOrigins.includes(origin)) return { vary: 'Origin' };
  const h: Record<string, string> = {
    'access-control-allow-origin': origin,
    'access-control-expose-headers': CORS_EXPOSE_HEADERS,
    vary: 'Origin',
  };
  if (s.corsCredentials) h['access-control-allow-credentials'] = 'true';
  return h;
}

/** The answer to a preflight from `origin`: 204, with the CORS headers only when the origin is allowed. */
export function preflight(s: CorsSettings, origin: string): Response {
  const base = corsHeaders(s, origin);
  const headers: Record<string, string> = s.corsOrigins === '*' ? {} : { vary: 'Origin' };
  if ('access-control-allow-origin' in base) {
    headers['access-control-allow-origin'] = base['access-control-allow-origin'];
    if (base['access-control-allow-credentials']) headers['access-control-allow-credentials'] = 'true';
    headers['access-control-allow-methods'] = CORS_METHODS;
    headers['access-control-allow-headers'] = CORS_ALLOW_HEADERS;
    headers['access-control-max-age'] = String(CORS_MAX_AGE);
  }
  return new Response(null, { status: 204, headers });
}

/** The plugin; `.use` it before everything else. Does nothing when CORS_ORIGINS is not set. */
export const cors = (s: CorsSettings) => {
  const app = new Elysia({ name: 'cors' });
  if (s.corsOrigins === null) return app;
  return app.onRequest(({ request, set }) => {
    const origin = request.headers.get('origin');
    if (request.method === 'OPTIONS' && origin !== null && request.headers.has('access-control-request-method')) {
      return preflight(s, origin);
    }
    Object.assign(set.headers, corsHeaders(s, origin));
  });
};
