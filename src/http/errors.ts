import { Elysia, ValidationError } from 'elysia';
import { AppError, jsonResponse } from './envelope';
import { requestIdOf } from './access-log';
import type { Logger } from '../logger';

const fieldName = (parts: string[]) =>
  parts.reduce((acc, p) => (/^\d+$/.test(p) ? `${acc}[${p}]` : acc ? `${acc}.${p}` : p), '');

/** Path of the first numeric string in `node` whose number is `value` (depth-first, in key order). */
function numericStringPath(node: unknown, value: number, path: string[] = []): string[] | undefined {
  if (typeof node === 'string') return node.trim() !== '' && Number(node) === value ? path : undefined;
  if (typeof node !== 'object' || node === null) return undefined;
  for (const [k, v] of Object.entries(node)) {
    const found = numericStringPath(v, value, [...path, k]);
    if (found) return found;
  }
  return undefined;
}

/**
 * Human name of the field a validation error is about, e.g. `account`, `items[3].name` or `parameters.width`.
 * Elysia's coercing `t.Integer` checks a numeric string after converting it and reports the number alone (type
 * `property`, no path): the field is then the input's numeric string with that value.
 */
function fieldOf(error: ValidationError, inputs: unknown[]): string {
  const first = error.all?.[0] as { path?: string } | undefined;
  const parts = (first?.path ?? '').split('/').filter(Boolean);
  if (parts.length > 0) return fieldName(parts);
  const value = (error as { value?: unknown }).value;
  if (error.type === 'property' && typeof value === 'number') {
    for (const input of inputs) {
      const found = numericStringPath(input, value);
      if (found?.length) return fieldName(found);
    }
  }
  return error.type === 'body' || error.type === 'property' ? '请求体' : error.type;
}

/**
 * The one error mapping of DECISIONS §1: business errors keep HTTP 200 with their code, token
 * problems are HTTP 401, validation is never 422 (HTTP 200 + code 400 naming the field), unknown
 * routes 404, anything unexpected 500 with a request id and nothing internal.
 */
export const errorHandler = (log: Logger) =>
  new Elysia({ name: 'error-handler' }).onError({ as: 'global' }, (ctx) => {
    const { code, request, set } = ctx;
    let { error } = ctx;
    // Elysia applies `set.status` over the status of a returned Response, so it is set here, not there.
    const reply = (status: number, body: Record<string, unknown>, headers: Record<string, string> = {}) => {
      set.status = status;
      return jsonResponse(status, body, headers);
    };
    // an AppError thrown while parsing (the request guard) reaches here wrapped in Elysia's ParseError
    if (code === 'PARSE' && (error as Error).cause instanceof AppError) error = (error as Error).cause as AppError;
    if (error instanceof AppError) {
      return reply(error.httpStatus, { code: error.code, message: error.message }, error.headers);
    }
    switch (code) {
      case 'VALIDATION':
        return reply(200, {
          code: 400,
          message: `参数不合规：${fieldOf(error as ValidationError, [(ctx as { body?: unknown }).body, ctx.query, ctx.params])}`,
        });
      case 'PARSE':
        return reply(200, { code: 400, message: '参数不合规：请求体无法解析' });
      case 'NOT_FOUND':
        return reply(404, { code: 404, message: '接口不存在' });
    }
    // the id sent back in X-Request-Id (src/http/access-log.ts), so that a user's report finds the log line
    const requestId = requestIdOf(request) ?? crypto.randomUUID();
    log.error(`request ${requestId} ${request.method} ${new URL(request.url).pathname} failed`, error);
    return reply(500, { code: 500, message: '服务器内部错误', data: { request_id: requestId } });
  });
