import { sql } from 'drizzle-orm';
import {
  type AnyPgColumn,
  check,
  index,
  integer,
  pgTable,
  serial,
  text,
  timestamp,
  uniqueIndex,
} from 'drizzle-orm/pg-core';

const ts = (name: string) => timestamp(name, { withTimezone: true, mode: 'date' });

export const users = pgTable(
  'users',
  {
    id: serial('id').primaryKey(),
    account: text('account').notNull(),
    email: text('email').notNull(),
    passwordHash: text('password_hash').notNull(),
    /** bumped on every password change/reset; tokens carry it, older ones are revoked */
    tokenVersion: integer('token_version').notNull().default(0),
    createdAt: ts('created_at').notNull(),
  },
  (t) => [
    uniqueIndex('users_account_lower_key').on(sql`lower(${t.account})`),
    uniqueIndex('users_email_lower_key').on(sql`lower(${t.email})`),
  ],
);

/** One pending forgot-password code per user (a new request replaces it). */
export const passwordResets = pgTable('password_resets', {
  userId: integer('user_id')
    .primaryKey()
    .references(() => users.id, { onDelete: 'cascade' }),
  codeHash: text('code_hash').notNull(),
  expiresAt: ts('expires_at').notNull(),
  attempts: integer('attempts').notNull().default(0),
  sentAt: ts('sent_at').notNull(),
});

export const favorites = pgTable(
  'favorites',
  {
    id: serial('id').primaryKey(),
    userId: integer('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    parentId: integer('parent_id').references((): AnyPgColumn => favorites.id, { onDelete: 'cascade' }),
    name: text('name').notNull(),
    nodeType: text('node_type').notNull(),
    referUrl: text('refer_url'),
  },
  (t) => [
    // exactly one root per user
    uniqueIndex('favorites_one_root_per_user').on(t.userId).where(sql`${t.parentId} is null`),
    index('favorites_parent_idx').on(t.parentId),
    index('favorites_user_idx').on(t.userId, t.id),
    index('favorites_user_refer_idx').on(t.userId, t.referUrl),
    check('favorites_node_type_check', sql`${t.nodeType} in ('folder', 'file')`),
  ],
);
