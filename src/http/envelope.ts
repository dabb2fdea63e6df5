import { type TSchema, t } from 'elysia';

/** A business or protocol outcome with the body `code` of DECISIONS §1; thrown by services, mapped in one place. */
export class AppError extends Error {
  constructor(
    readonly code: number,
    message: string,
    /** HTTP status; 200 for every outcome that the spec lists in a code table */
    readonly httpStatus = 200,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

export const badRequest = (message: string) => new AppError(400, message);
export const unauthorized = () => new AppError(401, '未登录或登录已过期，请重新登录', 401);
/**
 * Code 429 with Retry-After. HTTP 429 for throttling aimed at abuse; HTTP 200 (`httpStatus`) for a limit that an
 * ordinary user meets, whose message the client shows (DECISIONS §1).
 */
export const tooMany = (retryAfterSeconds: number, message = '请求过于频繁，请稍后再试', httpStatus = 429) =>
  new AppError(429, message, httpStatus, { 'retry-after': String(Math.max(1, Math.ceil(retryAfterSeconds))) });

export function ok<T>(message: string, data: T): { code: 200; message: string; data: T };
export function ok(message: string): { code: 200; message: string };
export function ok<T>(message: string, data?: T) {
  return data === undefined ? { code: 200 as const, message } : { code: 200 as const, message, data };
}

export function jsonResponse(status: number, body: unknown, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { 'content-type': 'application/json; charset=utf-8', ...headers },
  });
}

/** ISO-8601 UTC with `Z` and whole seconds, as in the spec's examples (`2025-11-04T17:00:00Z`). */
export const isoUtc = (d: Date) => d.toISOString().replace(/\.\d{3}Z$/, 'Z');

const codeSchema = (codes: string) =>
  t.Integer({ description: `业务状态码 / business code: ${codes}`, examples: [200] });

/** Response schema: `{code, message, data?}`; `data` is present on success. */
export const Envelope = <T extends TSchema>(data: T, codes: string) =>
  t.Object({
    code: codeSchema(codes),
    message: t.String({ description: '中文提示 / message in Chinese' }),
    data: t.Optional(data),
  });

export const Plain = (codes: string) =>
  t.Object({
    code: codeSchema(codes),
    message: t.String({ description: '中文提示 / message in Chinese' }),
  });

export const Timestamp = t.String({
  format: 'date-time',
  description: 'ISO-8601 UTC, e.g. 2025-11-04T17:00:00Z',
  examples: ['2025-11-04T17:00:00Z'],
});
