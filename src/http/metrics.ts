// GET /metrics: the process's Prometheus metrics (src/ops/metrics.ts), for a scraper holding METRICS_TOKEN.
// Without METRICS_TOKEN the route does not exist (HTTP 404 like any unknown path); with it, a request without
// `Authorization: Bearer <METRICS_TOKEN>` is HTTP 401. The token is compared in constant time. The route is not
// part of the public API: it is hidden from the OpenAPI document.
import { createHash, timingSafeEqual } from 'node:crypto';
import { Elysia } from 'elysia';
import type { Metrics } from '../ops/metrics';
import { AppError } from './envelope';

const digest = (s: string) => createHash('sha256').update(s).digest();

/** True when the Authorization header carries exactly `Bearer <token>` (compared in constant time). */
export function bearerMatches(header: string | null, token: string): boolean {
  const m = header ? /^Bearer\s+(\S+)\s*$/i.exec(header) : null;
  // equal-length digests: neither the comparison time nor an early length check tells anything about the token
  return timingSafeEqual(digest(m?.[1] ?? ''), digest(token)) && m !== null;
}

const refused = () =>
  new AppError(401, '需要有效的监控令牌 / a valid METRICS_TOKEN bearer token is required', 401, {
    'www-authenticate': 'Bearer realm="metrics"',
  });

/** The /metrics route when `token` is set; nothing otherwise. */
export const metricsRoute = (metrics: Pick<Metrics, 'text' | 'contentType'>, token: string | null) => {
  const app = new Elysia({ name: 'metrics-route' });
  if (!token) return app;
  return app.get(
    '/metrics',
    async ({ request }) => {
      if (!bearerMatches(request.headers.get('authorization'), token)) throw refused();
      return new Response(await metrics.text(), { headers: { 'content-type': metrics.contentType, 'cache-control': 'no-store' } });
    },
    {
      detail: {
        hide: true,
        operationId: 'opsMetrics',
        summary: 'Prometheus 指标 / Prometheus metrics (METRICS_TOKEN bearer)',
        tags: ['运维 / ops'],
        security: [{ bearerAuth: [] }],
      },
    },
  );
};
