import { Elysia } from 'elysia';
import type { Config } from '../../config';
import { authGuard, bearer } from '../../http/auth';
import { isoUtc, ok, Plain } from '../../http/envelope';
import { endSession } from '../sessions/service';
import { clientIp, createRateLimiter } from '../../http/rate-limit';
import * as m from './model';
import * as svc from './service';

/** Endpoints 1–4: register, login, forgot-password, reset-password. */
export const authModule = (d: svc.AuthDeps, config: Pick<Config, 'forgotPerIpPerMinute' | 'trustProxy'>) => {
  // per client IP, counted in the database so that the limit holds across instances
  const forgotLimiter = createRateLimiter(d.db, 'forgot-ip', config.forgotPerIpPerMinute, 60_000, d.clock);
  return new Elysia({ prefix: '/api/v1/auth', tags: ['用户管理 / accounts'] })
    .use(authGuard(d.db, d.tokens))
    .post(
      '/register',
      async ({ body }) => {
        const user = await svc.register(d, body);
        return ok('注册成功', { account: user.account, email: user.email, created_at: isoUtc(user.createdAt) });
      },
      {
        parse: 'json', // read by the request guard; documents the body as JSON only
        body: m.RegisterBody,
        response: { 200: m.RegisterResponse },
        detail: {
          operationId: 'authRegister',
          summary: '注册 / register',
          description:
            '创建账号并在同一事务中创建收藏夹根目录。账号、邮箱均不区分大小写唯一。\n\n' +
            'Creates the account and its favorites root folder in one transaction. ' +
            'code 401 = account taken, 402 = e-mail taken (case-insensitive).',
        },
      },
    )
    .post(
      '/login',
      async ({ body, request, server }) => {
        const { user, token, expiresAt } = await svc.login(d, body, {
          userAgent: request.headers.get('user-agent'),
          ip: clientIp(request, server, config.trustProxy),
        });
        return ok('登录成功', {
          account: user.account,
          email: user.email,
          token,
          token_expire_at: isoUtc(expiresAt),
        });
      },
      {
        parse: 'json', // read by the request guard; documents the body as JSON only
        body: m.LoginBody,
        response: { 200: m.LoginResponse },
        detail: {
          operationId: 'authLogin',
          summary: '登录 / log in',
          description:
            '`account` 可填账号或注册邮箱。返回 JWT 及其过期时间（UTC）；每次登录创建一个会话（见 /user/sessions）。' +
            '同一账号名或同一 IP 连续失败过多时暂时锁定：HTTP 429（code 429）+ Retry-After，锁定时间逐次加倍。\n\n' +
            '`account` takes the account name or the e-mail address. Returns a JWT and its exact expiry; every login ' +
            'starts a session (see /user/sessions). Too many failures for one account name or from one client IP lock ' +
            'it for a while: HTTP 429, code 429, Retry-After; each further failure doubles the lock. The lock applies ' +
            'to unknown accounts alike, so it reveals nothing.',
        },
      },
    )
    .post('/logout', async ({ user }) => {
        await endSession(d, user, user.sessionId);
        return ok('已退出登录');
      },
      {
        auth: true,
        response: { 200: Plain('200 已退出登录; 401 未登录或登录已过期 (HTTP 401); 500') },
        detail: {
          operationId: 'authLogout',
          summary: '退出登录 / log out',
          description:
            '结束当前会话：此 token 之后返回 HTTP 401，其他会话不受影响。\n\n' +
            'Ends the current session: its token is HTTP 401 afterwards; other sessions are untouched.',
          security: bearer,
        },
      },
    )
    .post(
      '/forgot-password',
      async ({ body, request, server }) => {
        await forgotLimiter.hit(clientIp(request, server, config.trustProxy));
        await svc.forgotPassword(d, body.email);
        return ok('邮件已发送');
      },
      {
        parse: 'json', // read by the request guard; documents the body as JSON only
        body: m.ForgotBody,
        response: { 200: m.ForgotResponse },
        detail: {
          operationId: 'authForgotPassword',
          summary: '忘记密码：发送验证码 / send a reset code',
          description:
            '向邮箱发送 6 位验证码，10 分钟有效、一次性、错误 5 次失效；新请求会替换旧验证码。' +
            '同一邮箱 60 秒内只发一封（HTTP 200，code 429，Retry-After，消息中给出等待秒数）；同一 IP 每分钟有请求上限（HTTP 429 + Retry-After）。\n\n' +
            'Mails a 6-digit code (10 min, single use, dies after 5 wrong tries; a new request replaces it). ' +
            'One mail per address per 60 s: HTTP 200 with code 429, Retry-After and the wait in the message (the client ' +
            'shows it). Per client IP: HTTP 429 with code 429 and Retry-After. ' +
            'code 401 = e-mail not registered; code 500 = the mail could not be sent (nothing is kept).',
        },
      },
    )
    .post(
      '/reset-password',
      async ({ body }) => {
        await svc.resetPassword(d, { email: body.email, code: body.verification_code, newPassword: body.new_password });
        return ok('成功重置密码');
      },
      {
        parse: 'json', // read by the request guard; documents the body as JSON only
        body: m.ResetBody,
        response: { 200: m.ResetResponse },
        detail: {
          operationId: 'authResetPassword',
          summary: '忘记密码：重置密码 / reset the password with the code',
          description:
            '校验验证码并设置新密码，结束该账号的所有会话（所有 token 失效）。\n\n' +
            'Checks the code (constant time), sets the new password and ends every session (all tokens). ' +
            'code 401 = wrong, expired, used or exhausted code.',
        },
      },
    );
};
