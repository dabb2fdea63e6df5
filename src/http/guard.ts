import { Elysia } from 'elysia';
import { AppError, badRequest, jsonResponse } from './envelope';

/**
 * The request guard: every request passes here before anything parses, validates or queries (issue 9).
 *
 * - the body is read from the stream with a running byte count, so a chunked body cannot pass the limit (413);
 * - JSON nesting is measured on the raw text without recursion before `JSON.parse` (deeper than
 *   MAX_JSON_DEPTH ⇒ code 400), so no validator or database ever sees a deep value;
 * - every string (keys included) of the body, the path and the query is checked for NUL and lone UTF-16
 *   surrogates (code 400 naming the field): PostgreSQL text cannot hold NUL, and a lone surrogate would be
 *   silently replaced (two different passwords would collide);
 * - a body object with a key named `toString` is refused too (code 400 naming the field): it cannot be made text.
 *
 * Why it matters beyond 400-vs-500: the embedded PGlite backend runs in WASM, where PostgreSQL's stack-depth
 * check cannot measure the stack. A jsonb value nested a few thousand levels deep overflows it: PGlite then
 * reports the INSERT as done with 0 rows, and its broken backend spins for ever on the next statement that
 * raises an error (a NUL byte in a text parameter was enough), freezing the whole process.
 */

/** Deepest JSON nesting accepted in a request body (objects and arrays). */
export const MAX_JSON_DEPTH = 32;

export const tooLarge = () => new AppError(400, '请求体过大', 413);

/** Reads a body stream, refusing it (HTTP 413) as soon as it passes `limit` bytes, whatever its framing. */
export async function readCapped(request: Request, limit: number): Promise<Uint8Array> {
  const body = request.body;
  if (!body) return new Uint8Array(0);
  const reader = body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > limit) {
      await reader.cancel().catch(() => {});
      throw tooLarge();
    }
    chunks.push(value);
  }
  if (chunks.length === 1) return chunks[0];
  const out = new Uint8Array(size);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.byteLength;
  }
  return out;
}

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });

/** The deepest nesting of `[`/`{` in JSON text, outside strings; stops counting once past `max`. */
export function jsonDepth(text: string, max = Infinity): number {
  let depth = 0;
  let deepest = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 92 /* \ */) i++;
      else if (c === 34 /* " */) inString = false;
    } else if (c === 34) inString = true;
    else if (c === 91 /* [ */ || c === 123 /* { */) {
      if (++depth > deepest && (deepest = depth) > max) return deepest;
    } else if (c === 93 /* ] */ || c === 125 /* } */) depth--;
  }
  return deepest;
}

/** Why a string cannot be accepted, or null. */
export function badText(s: string): string | null {
  if (s.includes('\u0000')) return '不能包含 NUL 字符';
  if (!s.isWellFormed()) return '不能包含不成对的 UTF-16 代理项';
  return null;
}

const join = (path: string, key: string | number) =>
  typeof key === 'number' ? `${path}[${key}]` : path ? `${path}.${key}` : key;

/**
 * A JSON object with its own `toString` key cannot be turned into text: `String(v)` and `${v}` throw a TypeError
 * (the key's value is never a function, and the inherited `valueOf` gives the object back). Elysia's validation
 * error does exactly that with a wrong-typed value (`but found: ${value}`), so `{"result_url":{"toString":0}}` was
 * HTTP 500 (found by the fuzz tier). No field of the API has that name: such a key is refused, naming the field.
 */
const UNPRINTABLE_KEY = 'toString';

/**
 * The first string (value or key) in a parsed JSON value that badText refuses, or the first `toString` key
 * (UNPRINTABLE_KEY), as `[field, reason]`.
 */
export function findBadText(value: unknown, path = ''): [string, string] | null {
  if (typeof value === 'string') {
    const why = badText(value);
    return why ? [path || '请求体', why] : null;
  }
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const bad = findBadText(value[i], join(path, i));
      if (bad) return bad;
    }
  } else if (value !== null && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      const keyWhy = badText(k);
      if (keyWhy) return [join(path, '（键名）'), keyWhy];
      if (k === UNPRINTABLE_KEY) return [join(path, k), `不接受名为 ${UNPRINTABLE_KEY} 的键`];
      const bad = findBadText(v, join(path, k));
      if (bad) return bad;
    }
  }
  return null;
}

/** Parses a JSON request body under the guard's rules; null for an empty body. */
export function parseGuardedJson(bytes: Uint8Array): unknown {
  if (bytes.byteLength === 0) return null;
  let text: string;
  try {
    text = utf8.decode(bytes);
  } catch {
    throw badRequest('参数不合规：请求体不是有效的 UTF-8');
  }
  if (text.trim() === '') return null;
  if (jsonDepth(text, MAX_JSON_DEPTH) > MAX_JSON_DEPTH) {
    throw badRequest(`参数不合规：请求体嵌套过深（最多 ${MAX_JSON_DEPTH} 层）`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw badRequest('参数不合规：请求体无法解析');
  }
  const bad = findBadText(value);
  if (bad) throw badRequest(`参数不合规：${bad[0]}（${bad[1]}）`);
  return value;
}

/** Checks the decoded path and query of a URL; returns the reason it is refused, or null. */
export function badUrl(url: string): string | null {
  const q = url.indexOf('?');
  const start = url.indexOf('/', url.indexOf('//') + 2);
  const raw = q === -1 ? url.slice(start) : url.slice(start, q);
  const query = q === -1 ? '' : url.slice(q + 1);
  if (!raw.includes('%') && !query) return null; // the common case: nothing encoded, nothing to decode
  try {
    if (badText(decodeURIComponent(raw))) return '路径';
    for (const part of query.split('&')) {
      if (badText(decodeURIComponent(part.replace(/\+/g, ' ')))) return '查询参数';
    }
  } catch {
    return raw.includes('%') ? '路径' : '查询参数'; // a malformed or non-UTF-8 percent escape
  }
  return null;
}

export interface GuardOptions {
  /** the largest body a request to `path` may carry */
  limitFor(path: string): number;
  /** paths whose handler takes the raw bytes (uploads): their body is a RawBody, read under the same cap */
  rawBodyPaths: ReadonlySet<string>;
}

/** The body of a raw-body route: its bytes, read under the size cap, and its Content-Type. */
export class RawBody {
  constructor(
    readonly bytes: Uint8Array,
    readonly contentType: string,
  ) {}
}

const FILE_PATHS = /^(\/api\/v1)?\/(generated_outputs|uploads)\//;

const JSON_TYPE = /^application\/([a-z0-9.+-]*\+)?json$/;

/**
 * The guard as an Elysia plugin: a global request hook (size by Content-Length, path and query text) and a
 * global parse hook (capped read, depth, text) that replaces Elysia's own parsers for every JSON route.
 */
export const requestGuard = (o: GuardOptions) =>
  new Elysia({ name: 'request-guard' })
    .onRequest(({ request }) => {
      const length = Number(request.headers.get('content-length') ?? 0);
      const path = pathOf(request.url);
      if (length > 0 && length > o.limitFor(path)) return jsonResponse(413, { code: 400, message: '请求体过大' });
      const bad = badUrl(request.url);
      if (bad) {
        // a file path that cannot name a file is the same 404 as any unknown file (DECISIONS §6); elsewhere code 400
        if (FILE_PATHS.test(path)) return jsonResponse(404, { code: 404, message: '文件不存在' });
        return jsonResponse(200, { code: 400, message: `参数不合规：${bad}（含有不允许的字符）` });
      }
    })
    .onParse({ as: 'global' }, async ({ request, contentType }) => {
      const path = pathOf(request.url);
      const bytes = await readCapped(request, o.limitFor(path));
      if (o.rawBodyPaths.has(path)) return new RawBody(bytes, request.headers.get('content-type') ?? '');
      if (bytes.byteLength === 0) return null;
      const type = (contentType ?? '').trim().toLowerCase();
      // GET/DELETE with `Content-Type: application/json` and no body are common (DECISIONS §9): handled above.
      if (type && !JSON_TYPE.test(type)) {
        throw badRequest('参数不合规：请求体须为 JSON（Content-Type: application/json）');
      }
      return parseGuardedJson(bytes);
    });

function pathOf(url: string): string {
  const start = url.indexOf('/', url.indexOf('//') + 2);
  const q = url.indexOf('?', start);
  return q === -1 ? url.slice(start) : url.slice(start, q);
}
