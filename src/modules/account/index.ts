import { Elysia, t } from 'elysia';
import { authGuard, bearer } from '../../http/auth';
import { Envelope, isoUtc, ok } from '../../http/envelope';
import type { Tokens } from '../../http/tokens';
import type { Db } from '../../db/client';
import { Email, Password, TokenFields } from '../auth/model';
import * as svc from './service';

/** Endpoints 5–6: change password, change e-mail (logged in). */
export const accountModule = (d: { db: Db; tokens: Tokens }) =>
  new Elysia({ prefix: '/api/v1/user', tags: ['用户管理 / accounts'] })
    .use(authGuard(d.db, d.tokens))
    .post(
      '/reset-password',
      async ({ body, user }) => {
        const { token, expiresAt } = await svc.changePassword(d, user, body.old_password, body.new_password);
        return ok('成功修改密码', { token, token_expire_at: isoUtc(expiresAt) });
      },
      {
        auth: true,
        body: t.Object({
          old_password: t.String({ minLength: 1, maxLength: 128, examples: ['User@1234'] }),
          new_password: Password,
        }),
        response: {
          200: Envelope(
            t.Object(TokenFields),
            '200 成功修改密码; 400 参数不合规; 401 旧密码不正确; 500 (HTTP 401 = token 无效)',
          ),
        },
        detail: {
          summary: '修改密码 / change password',
          description:
            '修改成功后，之前签发的所有 token 立即失效；响应中附带一个新 token 供当前会话继续使用。\n\n' +
            'Every token issued before the change is revoked at once; `data` carries a fresh token and its ' +
            'expiry so the session that made the change goes on. code 401 (HTTP 200) = wrong old password.',
          security: bearer,
        },
      },
    )
    .post(
      '/reset-email',
      async ({ body, user }) => ok('成功修改邮箱', { email: await svc.changeEmail(d, user, body.new_email) }),
      {
        auth: true,
        body: t.Object({ new_email: Email }),
        response: {
          200: Envelope(t.Object({ email: t.String() }), '200 成功修改邮箱; 400 参数不合规; 401 邮箱重复; 500'),
        },
        detail: {
          summary: '修改邮箱 / change e-mail',
          description:
            '新邮箱不区分大小写唯一；已被其他账号使用时返回 code 401（HTTP 200）。\n\n' +
            'The new address must not belong to another account (case-insensitive): code 401 with HTTP 200.',
          security: bearer,
        },
      },
    );
