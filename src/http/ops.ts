import { Elysia } from 'elysia';
import type { DbProbe } from '../ops/watchdog';
import { Plain } from './envelope';

/** `/healthz` (the process runs) and `/readyz` (the database answers): served by every role. */
export const opsRoutes = (dbProbe: DbProbe) =>
  new Elysia()
    .get('/healthz', () => ({ code: 200, message: 'ok' }), {
      response: { 200: Plain('200') },
      detail: { operationId: 'opsHealthz', summary: '进程存活 / liveness', tags: ['运维 / ops'] },
    })
    .get(
      '/readyz',
      async ({ status }) => {
        const r = await dbProbe.check();
        if (r.ok) return { code: 200, message: 'ok' };
        return status(503, { code: 503, message: r.reason === 'stalled' ? '数据库无响应' : '数据库不可用' });
      },
      {
        response: { 200: Plain('200'), 503: Plain('503') },
        detail: {
          operationId: 'opsReadyz',
          summary: '就绪检查 / readiness (database reachable)',
          description:
            'HTTP 503 + code 503 when the database fails (数据库不可用) or has not answered a check for DB_STALL_TIMEOUT ' +
            '(数据库无响应; answered at once while the stall lasts).',
          tags: ['运维 / ops'],
        },
      },
    );
