import { Elysia, t } from 'elysia';
import { authGuard, bearer } from '../../http/auth';
import { Envelope, ok, Timestamp } from '../../http/envelope';
import * as svc from './service';

const Session = t.Object({
  id: t.String({ description: '会话 ID', examples: ['Qm9yaW5nU2Vzc2lvbklk'] }),
  current: t.Boolean({ description: '是否为发起本请求的会话 / the session of this request' }),
  created_at: Timestamp,
  last_used_at: t.String({ format: 'date-time', description: '最近使用时间（每分钟最多更新一次）/ last use, updated at most once a minute' }),
  expires_at: Timestamp,
  user_agent: t.Nullable(t.String({ description: '登录时的 User-Agent' })),
  ip: t.Nullable(t.String({ description: '登录时的客户端 IP' })),
}, { title: 'Session' });

/** The caller's login sessions (issue 10): list them, end one. Logout is POST /api/v1/auth/logout. */
export const sessionsModule = (d: svc.SessionDeps) =>
  new Elysia({ prefix: '/api/v1/user/sessions', tags: ['用户管理 / accounts'] })
    .use(authGuard(d.db, d.tokens))
    .get('', async ({ user }) => ok('成功', await svc.listSessions(d, user)), {
      auth: true,
      response: { 200: Envelope(t.Array(Session), '200 成功; 401 未登录或登录已过期 (HTTP 401); 500') },
      detail: {
        operationId: 'sessionsList',
        summary: '登录设备（会话）列表 / list login sessions',
        description:
          '本人未过期的会话，按创建时间升序；`current` 标记发起本请求的会话。\n\n' +
          'The caller\'s unexpired sessions, oldest first; `current` marks the one that made this request.',
        security: bearer,
      },
    })
    .delete('/:id', async ({ user, params }) => ok('会话已结束', await svc.endSession(d, user, params.id)), {
      auth: true,
      params: t.Object({ id: t.String({ minLength: 1, maxLength: 64 }) }),
      response: {
        200: Envelope(
          t.Object({ id: t.String(), current: t.Boolean({ description: '结束的是否为当前会话' }) }),
          '200 会话已结束; 400 会话不存在（含他人的会话）; 401 (HTTP 401); 500',
        ),
      },
      detail: {
        operationId: 'sessionsEnd',
        summary: '结束一个会话 / end a session',
        description:
          '结束本人的一个会话，其 token 之后返回 HTTP 401（可以是当前会话，相当于退出登录）。他人的或不存在的会话 ID 返回 code 400。\n\n' +
          'Ends one of the caller\'s sessions; its token is HTTP 401 afterwards (the current one too, like logging out). ' +
          'Another user\'s or an unknown id: code 400.',
        security: bearer,
      },
    });
