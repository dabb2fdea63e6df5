// Idempotency-Key (issue 14) on POST /api/v1/generation and POST /api/v1/user/favorite_list/batch: the same key
// from the same user with the same body within 24 h gets the first answer again and nothing new is done; the
// same key with another body (or on the other route) is code 400. Only successful answers are stored, in the
// same transaction as the work they answer and under the user's lock, so a double click makes one task.
import { createHash } from 'node:crypto';
import { and, eq, lt } from 'drizzle-orm';
import type { Db, Tx } from '../db/client';
import { idempotencyKeys } from '../db/schema';
import { t } from 'elysia';
import { badRequest } from './envelope';

/** How long an answer is kept and replayed. */
export const IDEMPOTENCY_TTL_MS = 24 * 3600 * 1000;
/** The header, lower-cased as Elysia's `headers` has it. */
export const IDEMPOTENCY_HEADER = 'idempotency-key';
/** Printable ASCII, 1–255 characters. */
export const IDEMPOTENCY_KEY = /^[\x20-\x7e]{1,255}$/;

export const MSG_KEY_INVALID = 'Idempotency-Key 无效：应为 1–255 个可打印 ASCII 字符';
export const MSG_KEY_REUSED = 'Idempotency-Key 已用于不同的请求内容';

/** One request that carried a key: whose, which route, and the body's fingerprint. */
export interface IdempotencyScope {
  userId: number;
  key: string;
  route: string;
  bodySha256: string;
}

/** JSON with object keys sorted at every level, so that key order does not make two bodies differ. */
export function canonicalJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map((x) => (x === undefined ? 'null' : canonicalJson(x))).join(',')}]`;
  if (v !== null && typeof v === 'object') {
    const entries = Object.entries(v as Record<string, unknown>)
      .filter(([, x]) => x !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, x]) => `${JSON.stringify(k)}:${canonicalJson(x)}`).join(',')}}`;
  }
  return JSON.stringify(v) ?? 'null';
}

/** The scope of a request, or null when it has no Idempotency-Key header; a malformed key is code 400. */
export function idempotencyScope(userId: number, route: string, header: string | null | undefined, body: unknown): IdempotencyScope | null {
  if (header === undefined || header === null) return null;
  if (!IDEMPOTENCY_KEY.test(header)) throw badRequest(MSG_KEY_INVALID);
  return { userId, key: header, route, bodySha256: createHash('sha256').update(canonicalJson(body)).digest('hex') };
}

/**
 * The stored answer (`data`) for this key, or undefined when there is none younger than 24 h. The same key with
 * another body or route is code 400. Inside the work's transaction, call it after taking the user's lock.
 */
export async function storedAnswer<T>(db: Db | Tx, s: IdempotencyScope, now: Date): Promise<T | undefined> {
  const [row] = await db
    .select({ route: idempotencyKeys.route, bodySha256: idempotencyKeys.bodySha256, response: idempotencyKeys.response, createdAt: idempotencyKeys.createdAt })
    .from(idempotencyKeys)
    .where(and(eq(idempotencyKeys.userId, s.userId), eq(idempotencyKeys.key, s.key)));
  if (!row || row.createdAt.getTime() <= now.getTime() - IDEMPOTENCY_TTL_MS) return undefined;
  if (row.route !== s.route || row.bodySha256 !== s.bodySha256) throw badRequest(MSG_KEY_REUSED);
  return row.response as T;
}

/**
 * Stores the answer in the transaction that did the work (an expired row of the same key is replaced). The
 * primary key (user_id, key) is the backstop: a second transaction that got past storedAnswer fails here and
 * rolls its work back.
 */
export async function storeAnswer(tx: Tx, s: IdempotencyScope, response: unknown, now: Date) {
  await tx
    .delete(idempotencyKeys)
    .where(and(eq(idempotencyKeys.userId, s.userId), eq(idempotencyKeys.key, s.key), lt(idempotencyKeys.createdAt, new Date(now.getTime() - IDEMPOTENCY_TTL_MS + 1))));
  await tx.insert(idempotencyKeys).values({ userId: s.userId, key: s.key, route: s.route, bodySha256: s.bodySha256, response: response as object, createdAt: now });
}

/** Deletes answers older than 24 h (housekeeping); returns how many. */
export async function purgeIdempotencyKeys(db: Db, now: Date): Promise<number> {
  const gone = await db
    .delete(idempotencyKeys)
    .where(lt(idempotencyKeys.createdAt, new Date(now.getTime() - IDEMPOTENCY_TTL_MS)))
    .returning({ key: idempotencyKeys.key });
  return gone.length;
}

/** Response header on a replayed answer. */
export const REPLAYED_HEADER = 'idempotent-replayed';

/**
 * The `headers` schema of a route that accepts a key: documents it in OpenAPI, and a malformed key is code 400
 * naming `idempotency-key` (the service checks it again for callers without the schema).
 */
export const IdempotencyHeaders = t.Object({
  [IDEMPOTENCY_HEADER]: t.Optional(
    t.String({
      minLength: 1,
      maxLength: 255,
      pattern: '^[\\x20-\\x7E]+$',
      examples: ['5f0c2a9e-3b1d-4c52-9d7e-2b8f1a6c0e41'],
      description:
        '可选。同一用户在 24 小时内以相同的键和相同的请求体重复请求时，返回第一次的应答（响应头 Idempotent-Replayed: true），' +
        '不会重复创建；相同的键用于不同的请求体返回 code 400。1–255 个可打印 ASCII 字符（建议用 UUID）。\n\n' +
        'Optional. The same key from the same user with the same body within 24 h returns the first answer again (response ' +
        'header `Idempotent-Replayed: true`) and creates nothing new; the same key with a different body is code 400. ' +
        '1–255 printable ASCII characters (a UUID, say).',
    }),
  ),
});
