// Turns the OpenAPI document that @elysiajs/openapi generates from the route schemas into the published contract
// (issue 14): declared types instead of Elysia's run-time coercion unions, OpenAPI 3.1 nullability, named component
// schemas, documented error responses, explicit security, servers and readable operation ids. Pure functions over
// plain JSON, so that the contract test can check each rule and the document is computed once per route set.

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type Obj = { [key: string]: Json };
type Doc = Obj & { paths: Record<string, Record<string, Obj>>; components: Obj & { schemas: Record<string, Obj> } };

const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const METHODS = new Set(['get', 'post', 'put', 'patch', 'delete', 'head', 'options', 'trace']);
const SCHEMA_NAME = /^[A-Z][A-Za-z0-9]*$/;
export const OPERATION_ID = /^[a-z][A-Za-z0-9]+$/;
const ref = (name: string): Obj => ({ $ref: `#/components/schemas/${name}` });

/**
 * Elysia's `t.Integer` (and `t.Numeric`, `t.BooleanString`…) accept a numeric string at run time by validating a
 * union of a formatted string and the declared schema; the generator publishes that union. The declared schema is
 * the second member: publish it alone.
 */
export function collapseCoercion(schema: Obj): Obj {
  const any = schema.anyOf;
  if (!Array.isArray(any) || any.length !== 2) return schema;
  const [first, declared] = any;
  const coercing =
    isObj(first) && first.type === 'string' && typeof first.format === 'string' &&
    ['integer', 'numeric', 'boolean', 'ObjectString', 'ArrayString'].includes(first.format);
  if (!coercing || !isObj(declared) || declared.type === 'string') return schema;
  return declared;
}

/** OpenAPI 3.0's `nullable: true` (which Elysia's `t.Nullable` adds) as 3.1 has it: `null` among the types. */
export function fixNullable(schema: Obj): Obj {
  if (!('nullable' in schema)) return schema;
  const { nullable, ...rest } = schema;
  if (nullable !== true) return rest;
  if (Array.isArray(rest.type)) return rest.type.includes('null') ? rest : { ...rest, type: [...rest.type, 'null'] };
  if (typeof rest.type === 'string') return { ...rest, type: [rest.type, 'null'] };
  const any = Array.isArray(rest.anyOf) ? rest.anyOf : null;
  if (any && !any.some((s) => isObj(s) && s.type === 'null')) return { ...rest, anyOf: [...any, { type: 'null' }] };
  return rest;
}

/**
 * `anyOf [X, {type: null}]` with a single-typed X reads better, and generates the same types, as X with `null` among
 * its types; an `enum` of a nullable schema lists `null` too (otherwise null would not validate).
 */
export function simplifyNull(schema: Obj): Obj {
  let out = schema;
  const any = out.anyOf;
  if (Array.isArray(any) && any.length === 2 && isObj(any[1]) && sameJson(any[1], { type: 'null' })) {
    const [x] = any;
    if (isObj(x) && typeof x.type === 'string' && !('$ref' in x)) {
      const { anyOf: _, ...outer } = out;
      out = { ...outer, ...x, type: [x.type, 'null'] };
    }
  }
  if (Array.isArray(out.type) && out.type.includes('null') && Array.isArray(out.enum) && !out.enum.includes(null)) {
    out = { ...out, enum: [...out.enum, null] };
  }
  return out;
}

/** TypeBox writes `t.Record(t.String(), X)` as `patternProperties: {'^(.*)$': X}`; that is `additionalProperties: X`. */
export function recordAsMap(schema: Obj): Obj {
  const pattern = schema.patternProperties;
  if (!isObj(pattern) || Object.keys(pattern).length !== 1 || !isObj(pattern['^(.*)$'])) return schema;
  const { patternProperties: _, ...rest } = schema;
  return { ...rest, additionalProperties: pattern['^(.*)$'] };
}

/** Applies `fn` to every schema-like object, children first. */
function mapDeep(node: Json, fn: (o: Obj) => Obj): Json {
  if (Array.isArray(node)) return node.map((n) => mapDeep(n, fn));
  if (!isObj(node)) return node;
  const out: Obj = {};
  for (const [k, v] of Object.entries(node)) out[k] = mapDeep(v, fn);
  return fn(out);
}

const pascal = (id: string) => id.charAt(0).toUpperCase() + id.slice(1);

/** `patch /api/v1/user/favorite_list/{id}` → `patchUserFavoriteListById`: a fallback for routes without one. */
export function deriveOperationId(method: string, path: string): string {
  const words = path
    .replace(/^\/api\/v1(?=\/|$)/, '')
    .split('/')
    .filter(Boolean)
    .flatMap((seg) => {
      const param = /^\{(.+)\}$/.exec(seg);
      const parts = (param ? param[1] : seg).split(/[^A-Za-z0-9]+/).filter(Boolean);
      return param ? ['By', ...parts] : parts;
    });
  return method.toLowerCase() + words.map(pascal).join('');
}

const sameJson = (a: Json, b: Json) => JSON.stringify(a) === JSON.stringify(b);

/** Puts `schema` into components under `name` (or a numbered variant when another schema holds it) and returns a `$ref`. */
function register(schemas: Record<string, Obj>, name: string, schema: Obj): Obj {
  for (let i = 1; ; i++) {
    const candidate = i === 1 ? name : `${name}${i}`;
    const held = schemas[candidate];
    if (!held) {
      schemas[candidate] = schema;
      return ref(candidate);
    }
    if (sameJson(held, schema)) return ref(candidate);
  }
}

/** Schemas that carry a `title` (set in the models) become components of that name. */
function hoistTitled(node: Json, schemas: Record<string, Obj>): Json {
  return mapDeep(node, (o) => {
    if (typeof o.title === 'string' && SCHEMA_NAME.test(o.title) && !('$ref' in o) && ('type' in o || 'anyOf' in o)) {
      return register(schemas, o.title, o);
    }
    return o;
  });
}

export const ERROR_SCHEMA: Obj = {
  type: 'object',
  description:
    '错误信封：HTTP 状态非 200 时的响应体 / the envelope of a non-200 answer (`code` equals the HTTP status)',
  required: ['code', 'message'],
  properties: {
    code: { type: 'integer', description: '与 HTTP 状态相同 / same as the HTTP status', examples: [401] },
    message: { type: 'string', description: '中文提示 / message in Chinese', examples: ['未登录或登录已过期，请重新登录'] },
    data: {
      type: 'object',
      description: '仅 HTTP 500：用于排查的请求 ID / HTTP 500 only: the request id to report',
      properties: { request_id: { type: 'string', examples: ['9f1c2b7e-4d1a-4c2e-8a53-0c4e5b6d7f80'] } },
    },
  },
  examples: [{ code: 401, message: '未登录或登录已过期，请重新登录' }],
};

const errorResponse = (description: string, example: Obj, headers?: Obj): Obj => ({
  description,
  ...(headers ? { headers } : {}),
  content: { 'application/json': { schema: ref('ErrorResponse'), example } },
});

/** The error answers of DECISIONS §1, shared by every operation that can give them. */
export const ERROR_RESPONSES: Record<string, Obj> = {
  Unauthorized: errorResponse('token 缺失、无效、过期或已撤销 / missing, bad, expired or revoked bearer token', {
    code: 401,
    message: '未登录或登录已过期，请重新登录',
  }),
  NotFound: errorResponse('不存在或无权访问 / not found (or not yours)', { code: 404, message: '文件不存在' }),
  PayloadTooLarge: errorResponse('请求体超过上限 / request body over the limit', { code: 413, message: '请求体过大' }),
  TooManyRequests: errorResponse(
    '请求过于频繁，请在 Retry-After 秒后重试 / rate limited: retry after Retry-After seconds',
    { code: 429, message: '请求过于频繁，请稍后再试' },
    {
      'Retry-After': {
        description: '需要等待的秒数 / seconds to wait',
        schema: { type: 'integer', minimum: 1, examples: [30] },
      },
    },
  ),
  InternalError: errorResponse('服务器内部错误（含请求 ID）/ unexpected error, with a request id', {
    code: 500,
    message: '服务器内部错误',
    data: { request_id: '9f1c2b7e-4d1a-4c2e-8a53-0c4e5b6d7f80' },
  }),
};
const STATUS_OF: Record<string, string> = {
  Unauthorized: '401',
  NotFound: '404',
  PayloadTooLarge: '413',
  TooManyRequests: '429',
  InternalError: '500',
};

export interface ContractOptions {
  /** `servers` of the document */
  servers?: { url: string; description?: string }[];
  /** operation ids that can answer HTTP 429 (login lock, forgot-password per IP, fair-use limits) */
  rateLimited?: ReadonlySet<string>;
}

/** Which shared error answers an operation documents. */
function errorsFor(op: Obj, path: string, rateLimited: ReadonlySet<string>): string[] {
  const names: string[] = [];
  const bearer = Array.isArray(op.security) && op.security.length > 0;
  if (bearer) names.push('Unauthorized');
  const isFile = /\{name\}$/.test(path) || /(^|\/)(generated_outputs|uploads|files)\//.test(path);
  if (isFile) names.push('NotFound');
  if (op.requestBody) names.push('PayloadTooLarge');
  if (rateLimited.has(String(op.operationId)) || '429' in (isObj(op.responses) ? op.responses : {})) names.push('TooManyRequests');
  names.push('InternalError');
  return names;
}

/** Names the envelope of a JSON response and its `data` (or `data` items) after the operation. */
function nameResponse(schemas: Record<string, Obj>, base: string, schema: Obj): Obj {
  if ('$ref' in schema) return schema;
  const props = isObj(schema.properties) ? { ...schema.properties } : null;
  if (props && isObj(props.data) && !('$ref' in props.data)) {
    const data = props.data;
    if (data.type === 'object') props.data = register(schemas, `${base}Data`, data);
    else if (data.type === 'array' && isObj(data.items) && data.items.type === 'object') {
      props.data = { ...data, items: register(schemas, `${base}Item`, data.items) };
    }
  }
  return register(schemas, `${base}Response`, props ? { ...schema, properties: props } : schema);
}

/** The published contract from the generated document. */
export function toContract(raw: Obj, options: ContractOptions = {}): Doc {
  const rateLimited = options.rateLimited ?? new Set<string>();
  const cleaned = mapDeep(raw, (o) => recordAsMap(simplifyNull(fixNullable(collapseCoercion(o))))) as Doc;
  const components: Obj = isObj(cleaned.components) ? cleaned.components : {};
  const schemas: Record<string, Obj> = { ...(isObj(components.schemas) ? (components.schemas as Record<string, Obj>) : {}) };
  schemas.ErrorResponse = ERROR_SCHEMA;
  const paths = hoistTitled(cleaned.paths ?? {}, schemas) as Doc['paths'];

  const usedIds = new Set<string>();
  for (const [path, item] of Object.entries(paths)) {
    for (const [method, op] of Object.entries(item)) {
      if (!METHODS.has(method) || !isObj(op)) continue;
      let id = typeof op.operationId === 'string' && OPERATION_ID.test(op.operationId) ? op.operationId : deriveOperationId(method, path);
      for (let i = 2; usedIds.has(id); i++) id = `${id.replace(/\d+$/, '')}${i}`;
      usedIds.add(id);
      op.operationId = id;
      // no security requirement means a public route: say so (the document has no global requirement)
      if (!Array.isArray(op.security)) op.security = [];

      const responses: Obj = isObj(op.responses) ? op.responses : {};
      for (const [status, res] of Object.entries(responses)) {
        if (!isObj(res)) continue;
        if (res.description === `Response for status ${status}`) res.description = status === '200' ? '成功（业务结果见 code）/ OK: the outcome is in `code`' : `HTTP ${status}`;
        const json = isObj(res.content) && isObj(res.content['application/json']) ? res.content['application/json'] : null;
        if (json && isObj(json.schema)) {
          json.schema = nameResponse(schemas, pascal(id) + (status === '200' ? '' : status), json.schema);
        }
      }
      for (const name of errorsFor(op, path, rateLimited)) {
        const status = STATUS_OF[name];
        const existing = responses[status];
        // a documented answer with a body of its own stays; a bare one gets the shared envelope
        if (!isObj(existing) || !isObj(existing.content)) responses[status] = { $ref: `#/components/responses/${name}` };
      }
      op.responses = responses;
    }
  }
  return {
    ...cleaned,
    servers: options.servers ?? [{ url: '/', description: '本服务 / this server' }],
    paths,
    components: {
      ...components,
      schemas,
      responses: { ...(isObj(components.responses) ? components.responses : {}), ...ERROR_RESPONSES },
    },
  } as Doc;
}

const binary = { schema: { type: 'string', format: 'binary' } } as const;

/** The documented answers of a file route (result or upload): the bytes, a range, or a redirect to object storage. */
export const fileResponses = (types: readonly string[], extra: Record<number, { description: string }> = {}) => ({
  ...extra,
  200: {
    description: '文件内容（带 Content-Length）/ the file, with Content-Length',
    content: Object.fromEntries(types.map((type) => [type, binary])),
  },
  206: {
    description: 'Range 请求的部分内容 / the requested byte range',
    content: Object.fromEntries(types.map((type) => [type, binary])),
  },
  302: {
    description: 'STORAGE=s3 且 S3_REDIRECT=1：跳转到 5 分钟有效的预签名地址 / redirect to a presigned URL (5 minutes)',
    headers: { Location: { description: '预签名地址 / the presigned URL', schema: { type: 'string' as const } } },
  },
  416: { description: 'Range 无法满足 / range not satisfiable' },
});
