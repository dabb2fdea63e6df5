import { t } from 'elysia';
import { Envelope, Plain, Timestamp } from '../../http/envelope';

// DECISIONS §2: account 3–32 of [A-Za-z0-9_.-]; email ≤ 254; password 8–128 with a letter and a digit.
export const Account = t.String({
  minLength: 3,
  maxLength: 32,
  pattern: '^[A-Za-z0-9_.\\-]+$',
  description: '账号：3–32 位字母、数字、_ . -，不区分大小写唯一 / account name, unique case-insensitively',
  examples: ['test_user'],
});
export const Email = t.String({
  maxLength: 254,
  pattern: "^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$",
  description: '邮箱，最长 254，不区分大小写唯一 / e-mail address, unique case-insensitively',
  examples: ['test@example.com'],
});
export const Password = t.String({
  minLength: 8,
  maxLength: 128,
  pattern: '^(?=.*[A-Za-z])(?=.*[0-9])[\\s\\S]*$',
  description: '密码：8–128 位，至少一个字母和一个数字 / 8–128 characters with a letter and a digit',
  examples: ['User@1234'],
});

export const RegisterBody = t.Object({ account: Account, email: Email, password: Password });
export const RegisterResponse = Envelope(
  t.Object({ account: t.String(), email: t.String(), created_at: Timestamp }),
  '200 注册成功; 400 参数不合规; 401 账号重复; 402 邮箱重复; 500',
);

export const LoginBody = t.Object({
  account: t.String({
    minLength: 1,
    maxLength: 254,
    description: '账号（也可填写注册邮箱）/ account name, or the e-mail address',
    examples: ['test_user'],
  }),
  password: t.String({ minLength: 1, maxLength: 128, examples: ['User@1234'] }),
});
export const TokenFields = {
  token: t.String({ description: 'JWT，放入 Authorization: Bearer <token>' }),
  token_expire_at: t.String({
    format: 'date-time',
    description: 'token 过期时间（UTC）/ when the token expires (UTC)',
    examples: ['2025-11-11T17:00:00Z'],
  }),
};
export const LoginResponse = Envelope(
  t.Object({ account: t.String({ examples: ['test_user'] }), email: t.String({ examples: ['test@example.com'] }), ...TokenFields }),
  '200 登录成功; 400 参数不合规; 401 账号或密码错误; 429 尝试过于频繁 (HTTP 429); 500',
);

export const ForgotBody = t.Object({ email: Email });
export const ForgotResponse = Plain('200 邮件已发送; 400 参数不合规; 401 邮箱未注册; 429 同一邮箱 60 秒内重复请求 (HTTP 200) / 同一 IP 请求过多 (HTTP 429); 500 邮件发送失败');

export const ResetBody = t.Object({
  email: Email,
  verification_code: t.String({ pattern: '^[0-9]{6}$', description: '邮件中的 6 位验证码 / the 6-digit code', examples: ['123456'] }),
  new_password: Password,
});
export const ResetResponse = Plain('200 成功重置密码; 400 参数不合规; 401 验证码错误或过期; 500');
