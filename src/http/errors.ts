import { Elysia, ValidationError } from 'elysia';
import { AppError, jsonResponse } from './envelope';
import type { Logger } from '../logger';

/** Human name of the field a validation error is about, e.g. `account` or `items[3].name`. */
function fieldOf(error: ValidationError): string {
  const first = error.all?.[0] as { path?: string } | undefined;
  const path = first?.path ?? '';
  const parts = path.split('/').filter(Boolean);
  if (parts.length === 0) return error.type === 'body' ? '请求体' : error.type;
  return parts.reduce((acc, p) => (/^\d+$/.test(p) ? `${acc}[${p}]` : acc ? `${acc}.${p}` : p), '');
}

/**
 * The one error mapping of DECISIONS §1: business errors keep HTTP 200 with their code, token
 * problems are HTTP 401, validation is never 422 (HTTP 200 + code 400 naming the field), unknown
 * routes 404, anything unexpected 500 with a request id and nothing internal.
 */
export const errorHandler = (log: Logger) =>
  new Elysia({ name: 'error-handler' }).onError({ as: 'global' }, ({ code, error, request, set }) => {
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
        return reply(200, { code: 400, message: `参数不合规：${fieldOf(error as ValidationError)}` });
      case 'PARSE':
        return reply(200, { code: 400, message: '参数不合规：请求体无法解析' });
      case 'NOT_FOUND':
        return reply(404, { code: 404, message: '接口不存在' });
    }
    const requestId = crypto.randomUUID();
    log.error(`request ${requestId} ${request.method} ${new URL(request.url).pathname} failed`, error);
    return reply(500, { code: 500, message: '服务器内部错误', data: { request_id: requestId } });
  });
