import { createHmac, randomInt, timingSafeEqual } from 'node:crypto';
import { and, eq, gt, lt, sql } from 'drizzle-orm';
import type { Clock } from '../../clock';
import type { Db } from '../../db/client';
import { isUniqueViolation } from '../../db/errors';
import { favorites, passwordResets, users } from '../../db/schema';
import { AppError, tooMany } from '../../http/envelope';
import type { Tokens } from '../../http/tokens';
import type { Logger } from '../../logger';
import type { Mailer } from '../../mail/mailer';
import type { Static } from 'elysia';
import type { LoginBody, RegisterBody } from './model';
import { endSessions, type Origin, startSession } from '../sessions/service';
import { admitLogin, type LoginThrottleConfig, loginSucceeded, throttleKeys } from './throttle';
import type { Passwords } from './password';

export interface AuthDeps {
  db: Db;
  tokens: Tokens;
  mailer: Mailer;
  clock: Clock;
  log: Logger;
  /** key for hashing reset codes (the JWT secret) */
  secret: string;
  throttle: LoginThrottleConfig;
  /** argon2id at the configured cost (PASSWORD_HASH_MEMORY / PASSWORD_HASH_TIME) */
  passwords: Passwords;
}

export const RESET_CODE_TTL_MS = 10 * 60 * 1000;
export const RESET_MAX_ATTEMPTS = 5;
export const RESET_MAIL_INTERVAL_MS = 60 * 1000;

export const lower = (col: typeof users.account | typeof users.email) => sql`lower(${col})`;

export async function register(d: AuthDeps, input: Static<typeof RegisterBody>) {
  const clash = await d.db
    .select({ account: users.account, email: users.email })
    .from(users)
    .where(sql`${lower(users.account)} = ${input.account.toLowerCase()} or ${lower(users.email)} = ${input.email.toLowerCase()}`);
  const dupAccount = () => new AppError(401, '账号已存在');
  const dupEmail = () => new AppError(402, '邮箱已被注册');
  if (clash.some((u) => u.account.toLowerCase() === input.account.toLowerCase())) throw dupAccount();
  if (clash.length) throw dupEmail();
  const passwordHash = await d.passwords.hash(input.password);
  const createdAt = d.clock.now();
  try {
    return await d.db.transaction(async (tx) => {
      const [user] = await tx
        .insert(users)
        .values({ account: input.account, email: input.email, passwordHash, createdAt })
        .returning({ id: users.id, account: users.account, email: users.email, createdAt: users.createdAt });
      await tx.insert(favorites).values({ userId: user.id, parentId: null, name: '/', nodeType: 'folder' });
      return user;
    });
  } catch (e) {
    // a concurrent registration won the race between the check and the insert
    if (isUniqueViolation(e, 'users_account_lower_key')) throw dupAccount();
    if (isUniqueViolation(e, 'users_email_lower_key')) throw dupEmail();
    throw e;
  }
}

/**
 * Checks the password and starts a session. Attempts are throttled per account name and per client IP (HTTP 429
 * with Retry-After once locked), whether or not the account exists, so the lock reveals nothing.
 */
export async function login(d: AuthDeps, input: Static<typeof LoginBody>, origin: Origin & { ip: string }) {
  const keys = throttleKeys(input.account, origin.ip);
  await admitLogin(d.db, keys, d.throttle, d.clock.now());
  const key = input.account.toLowerCase();
  const [user] = await d.db
    .select()
    .from(users)
    .where(key.includes('@') ? sql`${lower(users.email)} = ${key}` : sql`${lower(users.account)} = ${key}`);
  if (!user) {
    // as costly as a real verification, so that timing does not reveal which accounts exist
    await d.passwords.verifyDummy(input.password);
    throw new AppError(401, '账号或密码错误');
  }
  if (!(await d.passwords.verify(input.password, user.passwordHash))) throw new AppError(401, '账号或密码错误');
  // a hash made at another cost (PASSWORD_HASH_MEMORY / _TIME changed) is re-made at the configured one; best effort
  if (d.passwords.outdated(user.passwordHash)) {
    const rehashed = await d.passwords.hash(input.password);
    await d.db
      .update(users)
      .set({ passwordHash: rehashed })
      .where(and(eq(users.id, user.id), eq(users.passwordHash, user.passwordHash)))
      .catch((e) => d.log.warn(`user ${user.id}: re-hashing the password failed: ${(e as Error).message}`));
  }
  await loginSucceeded(d.db, keys);
  const { token, expiresAt } = await startSession(d, d.db, user.id, origin);
  return { user, token, expiresAt };
}

const hashCode = (secret: string, userId: number, code: string) =>
  createHmac('sha256', secret).update(`${userId}:${code}`).digest('hex');

export async function forgotPassword(d: AuthDeps, email: string): Promise<void> {
  const [user] = await d.db
    .select({ id: users.id, email: users.email })
    .from(users)
    .where(sql`${lower(users.email)} = ${email.toLowerCase()}`);
  if (!user) throw new AppError(401, '邮箱未注册');
  const now = d.clock.now();
  const code = String(randomInt(0, 1_000_000)).padStart(6, '0');
  const codeHash = hashCode(d.secret, user.id, code);
  // Take the send slot atomically: a row sent less than 60 s ago is left alone (⇒ 429).
  const taken = await d.db
    .insert(passwordResets)
    .values({ userId: user.id, codeHash, expiresAt: new Date(now.getTime() + RESET_CODE_TTL_MS), attempts: 0, sentAt: now })
    .onConflictDoUpdate({
      target: passwordResets.userId,
      set: { codeHash, expiresAt: new Date(now.getTime() + RESET_CODE_TTL_MS), attempts: 0, sentAt: now },
      setWhere: lt(passwordResets.sentAt, new Date(now.getTime() - RESET_MAIL_INTERVAL_MS + 1)),
    })
    .returning({ userId: passwordResets.userId });
  if (taken.length === 0) {
    const [row] = await d.db
      .select({ sentAt: passwordResets.sentAt })
      .from(passwordResets)
      .where(eq(passwordResets.userId, user.id));
    const waitMs = row ? row.sentAt.getTime() + RESET_MAIL_INTERVAL_MS - now.getTime() : RESET_MAIL_INTERVAL_MS;
    // a limit an ordinary user meets: HTTP 200 + code 429 with the wait (DECISIONS §1), which the client shows
    const wait = Math.max(1, Math.ceil(waitMs / 1000));
    throw tooMany(wait, `邮件发送过于频繁，请 ${wait} 秒后再试`, 200);
  }
  try {
    await d.mailer.send({
      to: user.email,
      subject: '密码重置验证码 / Password reset code',
      text:
        `您的密码重置验证码是：${code}\n10 分钟内有效，只能使用一次。如果不是您本人操作，请忽略此邮件。\n\n` +
        `Your password reset code is ${code}. It is valid for 10 minutes and can be used once.\n`,
    });
  } catch (e) {
    d.log.error(`password reset mail to user ${user.id} failed`, e);
    // nothing half-done: the unsent code is dropped and the send slot is released
    await d.db
      .delete(passwordResets)
      .where(and(eq(passwordResets.userId, user.id), eq(passwordResets.codeHash, codeHash)));
    throw new AppError(500, '邮件发送失败，请稍后再试');
  }
}

export async function resetPassword(d: AuthDeps, input: { email: string; code: string; newPassword: string }) {
  const bad = () => new AppError(401, '验证码错误或已过期');
  const [user] = await d.db
    .select({ id: users.id })
    .from(users)
    .where(sql`${lower(users.email)} = ${input.email.toLowerCase()}`);
  if (!user) throw bad();
  const now = d.clock.now();
  // Every check spends one attempt, atomically, so parallel guesses cannot exceed the limit.
  const [pending] = await d.db
    .update(passwordResets)
    .set({ attempts: sql`${passwordResets.attempts} + 1` })
    .where(
      and(
        eq(passwordResets.userId, user.id),
        lt(passwordResets.attempts, RESET_MAX_ATTEMPTS),
        gt(passwordResets.expiresAt, now),
      ),
    )
    .returning({ codeHash: passwordResets.codeHash });
  if (!pending) throw bad();
  const given = Buffer.from(hashCode(d.secret, user.id, input.code), 'hex');
  const expected = Buffer.from(pending.codeHash, 'hex');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) throw bad();
  const passwordHash = await d.passwords.hash(input.newPassword);
  await d.db.transaction(async (tx) => {
    const used = await tx
      .delete(passwordResets)
      .where(and(eq(passwordResets.userId, user.id), eq(passwordResets.codeHash, pending.codeHash)))
      .returning({ userId: passwordResets.userId });
    if (used.length === 0) throw bad(); // used by a concurrent request
    await tx.update(users).set({ passwordHash }).where(eq(users.id, user.id));
    await endSessions(tx, user.id); // a reset ends every session (DECISIONS §2)
  });
}
