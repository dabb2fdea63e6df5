import { sql } from 'drizzle-orm';
import {
  bigint,
  boolean,
  check,
  index,
  integer,
  jsonb,
  pgTable,
  primaryKey,
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
    createdAt: ts('created_at').notNull(),
  },
  (t) => [
    uniqueIndex('users_account_lower_key').on(sql`lower(${t.account})`),
    uniqueIndex('users_email_lower_key').on(sql`lower(${t.email})`),
  ],
);

/**
 * One row per login (DECISIONS §2, issue 10): the token carries the session id, and a token is valid while its
 * session row exists and has not expired. Logout, a password change (other sessions) and a reset (all) delete rows.
 */
export const sessions = pgTable(
  'sessions',
  {
    id: text('id').primaryKey(),
    userId: integer('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    createdAt: ts('created_at').notNull(),
    /** updated at most once a minute per session and instance */
    lastUsedAt: ts('last_used_at').notNull(),
    /** the expiry of the newest token issued for the session */
    expiresAt: ts('expires_at').notNull(),
    userAgent: text('user_agent'),
    ip: text('ip'),
  },
  (t) => [index('sessions_user_idx').on(t.userId, t.createdAt), index('sessions_expires_idx').on(t.expiresAt)],
);

/**
 * Failed-login counters per key (`account:<lower-cased account>` and `ip:<address>`), shared by every instance.
 * A key past its limit is locked until `locked_until`; each failure beyond the limit doubles the lock.
 */
export const loginThrottle = pgTable(
  'login_throttle',
  {
    key: text('key').primaryKey(),
    failures: integer('failures').notNull(),
    windowStart: ts('window_start').notNull(),
    lockedUntil: ts('locked_until'),
  },
  (t) => [index('login_throttle_window_idx').on(t.windowStart)],
);

/**
 * Fixed-window request counters per key (e.g. `forgot-ip:<address>`), shared by every instance (issue 12): a
 * key's window ends at `reset_at`; the first hit after it starts a new one. Rows past `reset_at` are deleted by
 * housekeeping.
 */
export const rateLimits = pgTable(
  'rate_limits',
  {
    key: text('key').primaryKey(),
    hits: integer('hits').notNull(),
    resetAt: ts('reset_at').notNull(),
  },
  (t) => [index('rate_limits_reset_idx').on(t.resetAt)],
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
    /**
     * No foreign key: its per-row trigger was 60% of deleting a large subtree (86 of 148 ms for 10,001 nodes).
     * The tree stays whole because every insert and every subtree delete of a user's tree runs under that
     * user's transaction-level advisory lock and checks/collects against what is committed (favorites service).
     */
    parentId: integer('parent_id'),
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

/** Uploaded reference images; each belongs to its uploader. */
export const files = pgTable(
  'files',
  {
    id: text('id').primaryKey(),
    userId: integer('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    /** storage key */
    key: text('key').notNull(),
    mime: text('mime').notNull(),
    size: integer('size').notNull(),
    width: integer('width').notNull(),
    height: integer('height').notNull(),
    createdAt: ts('created_at').notNull(),
  },
  (t) => [index('files_user_idx').on(t.userId)],
);

/** Generation tasks; also the work queue (claimed with FOR UPDATE SKIP LOCKED) and the history. */
export const tasks = pgTable(
  'tasks',
  {
    id: text('id').primaryKey(),
    userId: integer('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    type: text('type').notNull(),
    prompt: text('prompt').notNull(),
    parameters: jsonb('parameters').$type<Record<string, unknown>>().notNull(),
    /** what the request sent, echoed back: { image?: string, images?: string[] } */
    references: jsonb('references').$type<{ image?: string; images?: string[] }>().notNull(),
    /** ids of the resolved reference files, key image first */
    referenceFiles: jsonb('reference_files').$type<string[]>().notNull(),
    status: text('status').notNull(),
    resultUrl: text('result_url'),
    resultKey: text('result_key'),
    resultMime: text('result_mime'),
    error: text('error'),
    /** claims so far; the claim's number is its ownership: heartbeat, progress and completion check it */
    attempts: integer('attempts').notNull().default(0),
    /** set while a worker holds the task; an expired lease means its worker died */
    leaseUntil: ts('lease_until'),
    /**
     * Its place in the round-robin queue (issue 14), set when it is queued: one past its user's latest task still
     * processing, but never later than just before the head of the queue — so a user's first waiting task goes next,
     * and a user's n-th waiting task waits for n rounds. The queue is served in (fair_seq, created_at, id) order.
     */
    fairSeq: bigint('fair_seq', { mode: 'number' }).notNull().default(0),
    /** the provider that runs the task (src/providers), set when it is claimed */
    provider: text('provider'),
    /** the provider's job state (e.g. its job id), stored before the first poll so that a restart resumes it */
    providerJob: jsonb('provider_job'),
    /** 0–100 while running, where the provider reports it */
    progress: integer('progress'),
    /** the provider's queue position while queued there, where it reports it */
    queuePosition: integer('queue_position'),
    /** ended by its owner (status failed, error 已取消) */
    canceled: boolean('canceled').notNull().default(false),
    /** sha-256 (hex) and size of the stored result, exactly the bytes the provider returned */
    resultSha256: text('result_sha256'),
    resultSize: integer('result_size'),
    hidden: boolean('hidden').notNull().default(false),
    /** when its owner deleted (hid) the record; retention removes its file RETENTION_DAYS later */
    hiddenAt: ts('hidden_at'),
    /**
     * Content review (issue 13): `pending` until the output is reviewed (and while held for a person's review),
     * then `approved` or `rejected`. Only an approved, completed result is ever served.
     */
    reviewStatus: text('review_status').notNull().default('approved'),
    /** why it is held or rejected (Chinese, shown to the user) */
    reviewMessage: text('review_message'),
    /** the prompt's review asked for a person to look at the output: it is held, not completed */
    reviewRequired: boolean('review_required').notNull().default(false),
    createdAt: ts('created_at').notNull(),
    completedAt: ts('completed_at'),
  },
  (t) => [
    index('tasks_user_created_idx').on(t.userId, t.createdAt, t.id),
    index('tasks_queue_idx').on(t.createdAt).where(sql`${t.status} = 'processing'`),
    index('tasks_user_result_idx').on(t.userId, t.resultUrl),
    // fair use (issue 14): the round-robin queue's order, and each user's tasks in processing (USER_MAX_ACTIVE_TASKS)
    index('tasks_fair_queue_idx').on(t.fairSeq, t.createdAt, t.id).where(sql`${t.status} = 'processing' and ${t.leaseUntil} is null`),
    index('tasks_user_active_idx').on(t.userId, t.fairSeq).where(sql`${t.status} = 'processing'`),
    check('tasks_status_check', sql`${t.status} in ('processing', 'completed', 'failed')`),
    check('tasks_type_check', sql`${t.type} in ('t2i', 'i2i', 't2v', 'i2v')`),
    check('tasks_review_status_check', sql`${t.reviewStatus} in ('pending', 'approved', 'rejected')`),
  ],
);

/**
 * Every moderation verdict (issue 13), kept for audit: prompts and references before a task is queued, outputs
 * before it completes. No foreign keys: the record outlives a deleted task or account.
 */
export const moderationVerdicts = pgTable(
  'moderation_verdicts',
  {
    id: serial('id').primaryKey(),
    /** null for a prompt refused before any task existed */
    taskId: text('task_id'),
    userId: integer('user_id').notNull(),
    /** prompt | reference | output */
    stage: text('stage').notNull(),
    /** none | keywords | openai */
    provider: text('provider').notNull(),
    /** approve | review | reject */
    decision: text('decision').notNull(),
    categories: jsonb('categories').$type<string[]>().notNull(),
    scores: jsonb('scores').$type<Record<string, number>>().notNull(),
    /** keywords: the list entries that matched */
    matched: jsonb('matched').$type<string[]>(),
    /** the moderation service could not be reached; MODERATION_FAIL decided */
    unavailable: boolean('unavailable').notNull().default(false),
    /** what was checked: the prompt (first 2,000 characters), or the sha-256 of the files */
    subject: text('subject').notNull(),
    message: text('message'),
    createdAt: ts('created_at').notNull(),
  },
  (t) => [index('moderation_verdicts_task_idx').on(t.taskId), index('moderation_verdicts_created_idx').on(t.createdAt)],
);

/**
 * Answers given to requests that carried an `Idempotency-Key` (issue 14), kept 24 h: the same key from the same
 * user with the same body gets the stored answer again instead of doing the work twice. Only successful answers
 * are stored, in the same transaction as the work; expired rows are deleted by housekeeping.
 */
export const idempotencyKeys = pgTable(
  'idempotency_keys',
  {
    userId: integer('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    key: text('key').notNull(),
    /** which endpoint answered (a key names one request, so another route with it is a different request) */
    route: text('route').notNull(),
    /** sha-256 (hex) of the request body as canonical JSON */
    bodySha256: text('body_sha256').notNull(),
    /** the `data` of the stored answer */
    response: jsonb('response').notNull(),
    createdAt: ts('created_at').notNull(),
  },
  (t) => [primaryKey({ columns: [t.userId, t.key] }), index('idempotency_keys_created_idx').on(t.createdAt)],
);
