import { Elysia, t } from 'elysia';
import { authGuard, bearer } from '../../http/auth';
import { badRequest, Envelope, isoUtc, ok } from '../../http/envelope';
import { Email, Password, TokenFields } from '../auth/model';
import * as svc from './service';

/** Endpoints 5–6: change password, change e-mail (logged in). */
export const accountModule = (d: svc.AccountDeps) =>
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
        parse: 'json', // read by the request guard; documents the body as JSON only
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
          operationId: 'accountChangePassword',
          summary: '修改密码 / change password',
          description:
            '修改成功后，其他所有会话立即结束（其 token 返回 HTTP 401）；发起请求的 token 继续有效（客户端会继续使用它），' +
            '响应中另附同一会话的新 token 及其过期时间，可选用。\n\n' +
            'Every OTHER session ends at once (their tokens get HTTP 401); the token that made the request stays valid, ' +
            'since the desktop client keeps using it. `data` also carries a fresh token for the same session and its ' +
            'expiry, for clients that want it. code 401 (HTTP 200) = wrong old password.',
          security: bearer,
        },
      },
    )
    .post(
      '/reset-email',
      async ({ body, user }) => {
        // the spec's key is new_email; an older client build sends email (DECISIONS §9)
        const email = body.new_email ?? body.email;
        if (email === undefined) throw badRequest('参数不合规：new_email');
        return ok('成功修改邮箱', { email: await svc.changeEmail(d, user, email) });
      },
      {
        auth: true,
        parse: 'json', // read by the request guard; documents the body as JSON only
        body: t.Object({
          new_email: t.Optional(Email),
          email: t.Optional(Email),
        }),
        response: {
          200: Envelope(t.Object({ email: t.String() }), '200 成功修改邮箱; 400 参数不合规; 401 邮箱重复; 500'),
        },
        detail: {
          operationId: 'accountChangeEmail',
          summary: '修改邮箱 / change e-mail',
          description:
            '新邮箱放在 `new_email`（旧版客户端发送 `email`，同样接受；两者都有时以 new_email 为准）。' +
            '新邮箱不区分大小写唯一；已被其他账号使用时返回 code 401（HTTP 200）。\n\n' +
            'The new address goes in `new_email` (an older client build sends `email`, also accepted; `new_email` wins when ' +
            'both are sent). It must not belong to another account (case-insensitive): code 401 with HTTP 200.',
          security: bearer,
        },
      },
    );
