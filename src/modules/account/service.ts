import { and, eq, ne, sql } from 'drizzle-orm';
import type { Db } from '../../db/client';
import { isUniqueViolation } from '../../db/errors';
import { passwordResets, users } from '../../db/schema';
import type { AuthUser } from '../../http/auth';
import { AppError } from '../../http/envelope';
import type { Tokens } from '../../http/tokens';
import { hashPassword, lower } from '../auth/service';

export interface AccountDeps {
  db: Db;
  tokens: Tokens;
}

/** Changes the password, revokes every other token, and returns a fresh token for this session. */
export async function changePassword(d: AccountDeps, user: AuthUser, oldPassword: string, newPassword: string) {
  const [row] = await d.db.select({ hash: users.passwordHash }).from(users).where(eq(users.id, user.id));
  if (!row || !(await Bun.password.verify(oldPassword, row.hash))) throw new AppError(401, '旧密码不正确');
  const passwordHash = await hashPassword(newPassword);
  const version = await d.db.transaction(async (tx) => {
    const [updated] = await tx
      .update(users)
      .set({ passwordHash, tokenVersion: sql`${users.tokenVersion} + 1` })
      .where(eq(users.id, user.id))
      .returning({ version: users.tokenVersion });
    await tx.delete(passwordResets).where(eq(passwordResets.userId, user.id));
    return updated.version;
  });
  return d.tokens.issue({ userId: user.id, version });
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
