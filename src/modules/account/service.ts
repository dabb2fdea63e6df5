import { and, eq, ne, sql } from 'drizzle-orm';
import type { Db } from '../../db/client';
import { isUniqueViolation } from '../../db/errors';
import { passwordResets, users } from '../../db/schema';
import type { AuthUser } from '../../http/auth';
import { AppError } from '../../http/envelope';
import type { Tokens } from '../../http/tokens';
import { lower } from '../auth/service';
import type { Passwords } from '../auth/password';
import { endSessions, renewSession } from '../sessions/service';
import type { Clock } from '../../clock';

export interface AccountDeps {
  db: Db;
  tokens: Tokens;
  clock: Clock;
  passwords: Passwords;
}

/**
 * Changes the password and ends every OTHER session (DECISIONS §2): the token that made the request stays valid,
 * since the desktop client keeps using it. The response's token is a fresh one for the same session.
 */
export async function changePassword(d: AccountDeps, user: AuthUser, oldPassword: string, newPassword: string) {
  const [row] = await d.db.select({ hash: users.passwordHash }).from(users).where(eq(users.id, user.id));
  if (!row || !(await d.passwords.verify(oldPassword, row.hash))) throw new AppError(401, '旧密码不正确');
  const passwordHash = await d.passwords.hash(newPassword);
  return d.db.transaction(async (tx) => {
    const updated = await tx.update(users).set({ passwordHash }).where(eq(users.id, user.id)).returning({ id: users.id });
    if (updated.length !== 1) throw new Error('password change was not stored');
    await tx.delete(passwordResets).where(eq(passwordResets.userId, user.id));
    await endSessions(tx, user.id, user.sessionId);
    return renewSession(d, tx, user.id, user.sessionId);
  });
}

export async function changeEmail(d: AccountDeps, user: AuthUser, newEmail: string): Promise<string> {
  const taken = () => new AppError(401, '邮箱已被使用');
  const [other] = await d.db
    .select({ id: users.id })
    .from(users)
    .where(and(sql`${lower(users.email)} = ${newEmail.toLowerCase()}`, ne(users.id, user.id)));
  if (other) throw taken();
  try {
    const [row] = await d.db
      .update(users)
      .set({ email: newEmail })
      .where(eq(users.id, user.id))
      .returning({ email: users.email });
    return row.email;
  } catch (e) {
    if (isUniqueViolation(e, 'users_email_lower_key')) throw taken();
    throw e;
  }
}
