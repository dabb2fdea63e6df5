// Property-based fuzz tier (fast-check): every operation of the OpenAPI document gets generated requests, valid-ish
// ones built from its documented schema and hostile ones (deep nesting, NUL, lone surrogates, huge numbers, wrong
// types and content types, odd paths, queries, tokens and chunked bodies), and every answer is held to the
// envelope rules of DECISIONS §1 and to "a rejected request changes nothing".
//
//   FUZZ_SEED=<int>          replay a run (printed at the end and on failure)
//   FUZZ_BUDGET_MS=<ms>      time for the fixtures and all routes, shared out as the run goes: default 6 s (the fast
//                            tier of `npm test`, at least MIN_CASES per route); CI's deep run gives it 90 s (.ci/run)
//   FUZZ_MAX_RUNS=<n>        cases per route at most (default 1000)
//   FUZZ_ROUTE='POST /path'  fuzz only that operation
//
// Requests go to an app built by the shared test env (same database, worker pool, mailer) with TRUST_PROXY on, so
// that every case carries its own X-Forwarded-For: the fuzz's failed logins and forgot-password requests count
// against its own addresses and never lock out the `unknown` address that the other test files log in from.
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from 'bun:test';
import fc from 'fast-check';
import { encode as encodePng } from 'fast-png';
import { sql } from 'drizzle-orm';
import { bodyLimitFor, type App } from '../src/app';
import { MAX_JSON_DEPTH } from '../src/http/guard';
import { createTokens } from '../src/http/tokens';
import { startSession } from '../src/modules/sessions/service';
import { testEnv, type TestEnv } from './support/env';
import { call, newUser, PASSWORD, type TestUser } from './support/http';
import { createTask, waitTask } from './support/tasks';

setDefaultTimeout(120_000);

const SEED = process.env.FUZZ_SEED ? Number(process.env.FUZZ_SEED) : Date.now() % 2_147_483_647;
const BUDGET_MS = Number(process.env.FUZZ_BUDGET_MS ?? 6_000);
const MAX_RUNS = Number(process.env.FUZZ_MAX_RUNS ?? 1000);
const ONLY_ROUTE = process.env.FUZZ_ROUTE;
/** One request (and the health check after it) must answer within this. */
const CASE_TIMEOUT_MS = 5_000;
/** After a failure, shrinking may go on this long past the route's share of the budget. */
const SHRINK_GRACE_MS = 15_000;
/** Every route gets this many cases at least: slow ones (password hashing) run past their share for them, up to MIN_CASES_MS. */
const MIN_CASES = 20;
const MIN_CASES_MS = 15_000;

const ALLOWED_STATUS = new Set([200, 206, 401, 404, 413, 416, 429]);
const FILE_ROUTE = /^(\/api\/v1)?\/(generated_outputs|uploads)\//;
const EVENTS_ROUTE = /^\/api\/v1\/generation\/\{taskId\}\/events$/;

/** An event stream (a running task's stays open): its first event, then the stream is let go. */
async function firstEvent(res: Response): Promise<string> {
  const reader = res.body!.getReader();
  let text = '';
  try {
    while (!text.includes('\n\n')) {
      const { done, value } = await reader.read();
      if (done) break;
      text += new TextDecoder().decode(value);
    }
  } finally {
    await reader.cancel();
  }
  return text.slice(0, text.indexOf('\n\n') + 2);
}

// ---------------------------------------------------------------------------------------------------------------
// The operations, from the OpenAPI document

interface Operation {
  method: string;
  /** OpenAPI form: /api/v1/generation/{taskId} */
  path: string;
  spec: any;
}

const env: TestEnv = await testEnv();
/**
 * The fuzzed app's configuration: TRUST_PROXY on, and the upload and label-verify body limits at the general one
 * (1 MB) instead of 20 and 64 MB. An oversize case sends the route's limit + 1 byte, and 64 MB in 1-byte chunks took
 * 25 s of the budget for one case; the refusal (HTTP 413, nothing stored) is the same code at any limit.
 */
const fuzzConfig = {
  ...env.config,
  trustProxy: true,
  uploadMaxBytes: env.config.bodyLimit,
  labelVerifyMaxBytes: env.config.bodyLimit,
};
/** The document with its `#/components/schemas/…` references replaced by the schemas (issue 14 names them). */
function derefSchemas(node: any, schemas: Record<string, any>, seen: string[] = []): any {
  if (Array.isArray(node)) return node.map((n) => derefSchemas(n, schemas, seen));
  if (!node || typeof node !== 'object') return node;
  const name = typeof node.$ref === 'string' && node.$ref.startsWith('#/components/schemas/') ? node.$ref.slice(21) : null;
  if (name && !seen.includes(name)) return derefSchemas(schemas[name], schemas, [...seen, name]);
  return Object.fromEntries(Object.entries(node).map(([k, v]) => [k, derefSchemas(v, schemas, seen)]));
}
const published = (await call('GET', '/swagger/json')).body;
const openapi = { ...published, paths: derefSchemas(published.paths, published.components?.schemas ?? {}) };
const allOperations: Operation[] = Object.entries(openapi.paths as Record<string, Record<string, any>>).flatMap(([path, ops]) =>
  Object.entries(ops).map(([method, spec]) => ({ method: method.toUpperCase(), path, spec })),
);
const routeName = (op: Operation) => `${op.method} ${op.path}`;
const operations = allOperations.filter((op) => !ONLY_ROUTE || routeName(op) === ONLY_ROUTE);

// ---------------------------------------------------------------------------------------------------------------
// Symbolic values: generated cases refer to fixture data (ids, urls, e-mail, password) by pool and index, resolved
// when the request is sent, so that they follow what earlier cases created or removed. `$raw` is JSON text put into
// the body as is (numbers that JSON.stringify cannot write: 1e400, -0, 2^53+1, 40 digits).

type Pick = { $pick: PoolName; n: number };
type Raw = { $raw: string };
const pick = (pool: PoolName) => fc.nat().map((n): Pick => ({ $pick: pool, n }));
const raw = (text: string): Raw => ({ $raw: text });
const isTagged = (v: unknown, tag: string): boolean => typeof v === 'object' && v !== null && tag in v;

interface Actor extends TestUser {
  userId: number;
  sessionId: string;
  rootId: number;
  folderIds: number[];
  fileNodeIds: number[];
  taskIds: string[];
  resultUrls: string[];
  fileIds: string[];
  fileUrls: string[];
  /** sessions of the actor other than the one its token belongs to */
  otherSessionIds: string[];
}

let me: Actor;
let victim: Actor;
/** tokens that must all be refused with HTTP 401 (expired, other secret, ended session, alg none) */
const badTokens: Record<string, string> = {};

const basename = (url: string) => url.slice(url.lastIndexOf('/') + 1);
const pools = {
  ownFolder: () => [me.rootId, ...me.folderIds],
  ownFileNode: () => me.fileNodeIds,
  ownNode: () => [...me.folderIds, ...me.fileNodeIds],
  ownRoot: () => [me.rootId],
  victimNode: () => [victim.rootId, ...victim.folderIds, ...victim.fileNodeIds],
  ownTask: () => me.taskIds,
  victimTask: () => victim.taskIds,
  ownResultUrl: () => me.resultUrls,
  ownResultAbsoluteUrl: () => me.resultUrls.map((u) => `http://localhost${u}`),
  victimResultUrl: () => victim.resultUrls,
  ownResultName: () => me.resultUrls.map(basename),
  victimResultName: () => victim.resultUrls.map(basename),
  ownUploadName: () => me.fileUrls.map(basename),
  victimUploadName: () => victim.fileUrls.map(basename),
  ownFileId: () => me.fileIds,
  ownFileUrl: () => me.fileUrls,
  victimFileId: () => victim.fileIds,
  ownEmail: () => [me.email, me.email.toUpperCase()],
  victimEmail: () => [victim.email],
  ownAccount: () => [me.account, me.account.toUpperCase()],
  victimAccount: () => [victim.account],
  ownPassword: () => [me.password],
  ownOtherSession: () => me.otherSessionIds,
  ownCurrentSession: () => [me.sessionId],
  victimSession: () => [victim.sessionId, ...victim.otherSessionIds],
};
type PoolName = keyof typeof pools;

/** Replaces picks with current fixture values (a pool that is empty gives an id that exists nowhere). */
function resolve(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(resolve);
  if (typeof v !== 'object' || v === null || isTagged(v, '$raw')) return v;
  if (isTagged(v, '$pick')) {
    const { $pick, n } = v as Pick;
    const list = pools[$pick]();
    return list.length ? list[n % list.length] : $pick.endsWith('Node') || $pick.endsWith('Folder') ? 2_000_000_000 : 'gone';
  }
  return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, resolve(x)]));
}

/** JSON text of a (shallow) value; `$raw` values are written as they are. */
function toJson(v: unknown): string {
  if (isTagged(v, '$raw')) return (v as Raw).$raw;
  if (Array.isArray(v)) return `[${v.map(toJson).join(',')}]`;
  if (typeof v === 'object' && v !== null) {
    return `{${Object.entries(v).map(([k, x]) => `${JSON.stringify(k)}:${toJson(x)}`).join(',')}}`;
  }
  return JSON.stringify(v) ?? 'null';
}

// ---------------------------------------------------------------------------------------------------------------
// Hostile values

const longString = fc
  .constantFrom(256, 2_001, 2_049, 10_000, 100_000, 600_000)
  .chain((n) => fc.constantFrom('x', '中', '😀', ' ').map((c) => c.repeat(n)));
const nulString = fc.tuple(fc.string(), fc.string()).map(([a, b]) => `${a}\u0000${b}`);
const loneSurrogate = fc
  .tuple(fc.string(), fc.constantFrom('\ud800', '\udc00', '\udbff', '\udfff', '\ud83d'), fc.string())
  .map(([a, s, b]) => a + s + b);
const controlString = fc.constantFrom('\t', '\n', '\r\n', '\u0007', '\u001b[31m', '\u007f', '\u200b', '\ufeff', '\u2028');
const oddString = fc.oneof(
  fc.constantFrom('', ' ', '   ', '/', '..', '../../etc/passwd', '%00', '%ff', '<script>', "'; drop table users; --", 'null', 'NaN', '__proto__', 'constructor'),
  controlString.chain((c) => fc.string().map((s) => s + c + s)),
  fc.string({ unit: 'grapheme', maxLength: 40 }),
  fc.string({ unit: 'binary', maxLength: 40 }), // includes lone surrogates
);
const hugeNumber = fc.constantFrom(
  raw('1e308'), raw('-1e308'), raw('1e309'), raw('-1e400'), raw('-0'), raw('0.0'), raw('1e-400'), raw('9007199254740993'),
  raw('-9007199254740993'), raw('18446744073709551616'), raw('2147483648'), raw('4294967296'), raw('-2147483649'),
  raw('123456789012345678901234567890123456789012345678901234567890'), raw('1.0000000000000000000000001'), raw('64.5'),
);
const wrongType = fc.constantFrom<unknown>(null, true, false, 0, -1, 1.5, '', '1', '64', 'true', [], [1], ['a'], {}, { a: 1 }, [[]], [{}]);
/** A value for any field: wrong type, NUL, lone surrogate, huge number, long string, odd text. */
const hostileValue: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 3, arbitrary: wrongType },
  { weight: 2, arbitrary: nulString },
  { weight: 2, arbitrary: loneSurrogate },
  { weight: 3, arbitrary: hugeNumber },
  { weight: 1, arbitrary: longString },
  { weight: 2, arbitrary: oddString },
  { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 3 }) },
);

/** Deep nesting as JSON text: `[[[…]]]`, `{"a":{"a":…}}`, mixed, or unterminated. */
const depthArb = fc.oneof(
  fc.constantFrom(MAX_JSON_DEPTH - 1, MAX_JSON_DEPTH, MAX_JSON_DEPTH + 1, 100, 1_000, 10_000, 100_000),
  fc.integer({ min: 30, max: 100_000 }),
);
type Nest = { depth: number; shape: 'array' | 'object' | 'mixed' | 'open' };
const nestArb: fc.Arbitrary<Nest> = fc.record({ depth: depthArb, shape: fc.constantFrom('array', 'object', 'mixed', 'open') });
function nestText({ depth, shape }: Nest): string {
  switch (shape) {
    case 'array':
      return '['.repeat(depth) + ']'.repeat(depth);
    case 'object':
      return '{"a":'.repeat(depth) + '1' + '}'.repeat(depth);
    case 'mixed': {
      const half = Math.ceil(depth / 2);
      return '[{"k":'.repeat(half) + 'null' + '}]'.repeat(half);
    }
    case 'open':
      return '[{"a":'.repeat(Math.ceil(depth / 2));
  }
}

const rawTexts = fc.constantFrom(
  '{', '}', '{"a":}', '[1,2', 'nul', '{"a":1,}', '{"a":1}{"b":2}', '  ', '\n', '\ufeff{}', '{"a":"\\ud800"}',
  '{"\\u0000":1}', '{"a":"\\u0000"}', '{"__proto__":{"admin":true}}', '{"constructor":{"prototype":{"x":1}}}', '{"a":{"toString":0}}',
  '{"a":"\\x41"}', "{'a':1}", '{"a":NaN}', '{"a":Infinity}', '{"a":01}', '{"a":.5}', '{"a":1e}', '"\\ud800"',
  '[]', 'null', 'true', '0', '"str"', '1e309', '{"a":"\\uD800\\uDC00"}', '{"a":"\\udc00\\ud800"}',
);

// ---------------------------------------------------------------------------------------------------------------
// Valid-ish values from the documented schema, with hints that reach deeper logic (real ids of the caller and of
// another user, small generation sizes so that the worker pool is not flooded)

type Hint = (derived: fc.Arbitrary<unknown>) => fc.Arbitrary<unknown>;
const mix = (...arbs: fc.Arbitrary<unknown>[]): Hint => (derived) => fc.oneof(derived, ...arbs);

const smallParameters = fc.record(
  {
    width: fc.integer({ min: 64, max: 128 }),
    height: fc.integer({ min: 64, max: 128 }),
    duration: fc.constantFrom(1, 1.5, 2),
    fps: fc.integer({ min: 8, max: 12 }),
    steps: fc.integer({ min: 1, max: 20 }),
    seed: fc.nat({ max: 4294967295 }),
    strength: fc.double({ min: 0, max: 1, noNaN: true }),
    negative_prompt: fc.string({ maxLength: 50 }),
    style: fc.string({ maxLength: 20 }),
    extra_unknown_key: fc.jsonValue({ maxDepth: 2 }),
  },
  { requiredKeys: ['width', 'height', 'duration', 'fps'] },
);

/** A batch that is valid as a tree: items with temp ids 1..n, each under an own folder or an earlier folder item. */
const validBatch = fc
  .array(
    fc.record({ folder: fc.boolean(), parent: fc.nat(), name: fc.string({ minLength: 1, maxLength: 30 }), under: pick('ownFolder') }),
    { minLength: 1, maxLength: 30 },
  )
  .map((rows) => {
    const folders: number[] = [];
    return rows.map((r, i) => {
      const temp = i + 1;
      const item: Record<string, unknown> = { temp_id: temp, name: `${r.name.trim() || 'n'}#${temp}`, node_type: r.folder ? 'folder' : 'file' };
      if (folders.length && r.parent % 3 !== 0) item.parent_temp_id = folders[r.parent % folders.length];
      else item.parent_id = r.under;
      if (r.folder) folders.push(temp);
      else item.refer_url = `/generated_outputs/fuzz_${temp}.png`;
      return item;
    });
  })
  // items may come in any order (DECISIONS §8)
  .chain((items) => fc.shuffledSubarray(items, { minLength: items.length, maxLength: items.length }));

/** Field hints by property name (every route). */
const HINTS: Record<string, Hint> = {
  parent_id: mix(pick('ownFolder'), pick('ownFileNode'), pick('victimNode'), fc.integer()),
  temp_id: (d) => fc.oneof(fc.integer({ min: 1, max: 5 }), d),
  parent_temp_id: (d) => fc.oneof(fc.integer({ min: 1, max: 5 }), d),
  image: mix(pick('ownFileId'), pick('ownFileUrl'), pick('victimFileId'), pick('ownResultUrl')),
  images: mix(fc.array(fc.oneof(pick('ownFileId'), pick('ownFileUrl'), pick('victimFileId')), { maxLength: 3 })),
  result_url: mix(pick('ownResultUrl'), pick('ownResultAbsoluteUrl'), pick('victimResultUrl')),
  refer_url: mix(pick('ownResultUrl'), fc.string({ maxLength: 100 })),
  email: mix(pick('ownEmail'), pick('victimEmail'), fc.emailAddress()),
  new_email: mix(pick('ownEmail'), pick('victimEmail'), fc.emailAddress()),
  account: mix(pick('ownAccount'), pick('victimAccount')),
  password: mix(pick('ownPassword')),
  old_password: mix(pick('ownPassword'), pick('ownPassword')),
  new_password: (d) => fc.oneof(d, fc.constantFrom('User@1234', 'Another123', 'x1'.repeat(64))),
  prompt: mix(fc.constantFrom('sunset over the ocean', 'city night', '  ', '森林')),
  // never a default-sized video: the worker pool is shared with the other test files
  parameters: () => smallParameters,
  items: (d) => fc.oneof({ weight: 3, arbitrary: validBatch }, { weight: 2, arbitrary: d }),
};

const STRING_LIMIT = 64;
function fromSchema(s: any, field = ''): fc.Arbitrary<unknown> {
  const derived = fromSchemaOnly(s);
  return HINTS[field] ? HINTS[field](derived) : derived;
}
function fromSchemaOnly(s: any): fc.Arbitrary<unknown> {
  if (!s || typeof s !== 'object') return fc.jsonValue({ maxDepth: 2 });
  if (s.enum) return fc.constantFrom(...s.enum);
  if (s.anyOf) return fc.oneof(...s.anyOf.map((x: any) => fromSchemaOnly(x)));
  const types: string[] = Array.isArray(s.type) ? s.type : [s.type];
  const nullable = s.nullable || types.includes('null');
  const base = ((): fc.Arbitrary<unknown> => {
    switch (types.find((t) => t !== 'null')) {
      case 'object': {
        const props: Record<string, any> = s.properties ?? {};
        const model = Object.fromEntries(Object.entries(props).map(([k, v]) => [k, fromSchema(v, k)]));
        const record = fc.record(model, { requiredKeys: (s.required ?? []).filter((k: string) => k in model) });
        if (s.additionalProperties === false || !s.additionalProperties) return record;
        return fc.tuple(record, fc.dictionary(fc.string({ maxLength: 10 }), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 2 }))
          .map(([r, extra]) => ({ ...extra, ...r }));
      }
      case 'array':
        return fc.array(fromSchema(s.items), { minLength: s.minItems ?? 0, maxLength: Math.min(s.maxItems ?? 5, 5) });
      case 'integer':
        if (s.format === 'integer') return fc.integer().map(String); // Elysia's numeric-string alternative
        {
          const int = fc.integer({ min: s.minimum ?? -1_000_000, max: s.maximum ?? 1_000_000 });
          // numeric strings are accepted too (DECISIONS); the document publishes the declared integer only
          return fc.oneof({ weight: 4, arbitrary: int }, { weight: 1, arbitrary: int.map(String) });
        }
      case 'number':
        return fc.double({ min: s.minimum ?? -1e6, max: s.maximum ?? 1e6, noNaN: true });
      case 'boolean':
        return fc.boolean();
      case 'string': {
        if (s.format === 'integer') return fc.integer().map(String);
        const max = Math.min(s.maxLength ?? STRING_LIMIT, STRING_LIMIT);
        const options: fc.Arbitrary<unknown>[] = [fc.string({ minLength: s.minLength ?? 0, maxLength: max })];
        if (s.examples?.length) options.push(fc.constantFrom(...s.examples));
        if (s.pattern) {
          try {
            options.push(fc.stringMatching(new RegExp(s.pattern)).map((x) => x.slice(0, s.maxLength ?? x.length)));
          } catch {
            // a pattern fast-check cannot generate from (lookahead): the examples and plain strings stand in
          }
        }
        return fc.oneof(...options);
      }
      default:
        return fc.jsonValue({ maxDepth: 2 });
    }
  })();
  return nullable ? fc.option(base, { freq: 5, nil: null }) : base;
}

/** Every place in a value where a field can be replaced or removed: ['prompt'], ['items', 0, 'name'], … */
function fieldPaths(v: unknown, prefix: (string | number)[] = [], depth = 0): (string | number)[][] {
  if (depth > 3 || typeof v !== 'object' || v === null || isTagged(v, '$pick') || isTagged(v, '$raw')) return [];
  const entries: [string | number, unknown][] = Array.isArray(v) ? v.slice(0, 3).map((x, i) => [i, x]) : Object.entries(v);
  return entries.flatMap(([k, x]) => [[...prefix, k], ...fieldPaths(x, [...prefix, k], depth + 1)]);
}

type Mutation = { op: 'replace' | 'delete' | 'rename' | 'add'; at: number; value: unknown; key: string };
/** A valid-ish value with one field replaced by a hostile value, removed, renamed, or a hostile key added. */
function mutate(valid: unknown, m: Mutation): unknown {
  const copy = structuredClone(valid) as any;
  if (typeof copy !== 'object' || copy === null) return m.value;
  const paths = fieldPaths(copy);
  // defineProperty, so that a key named __proto__ is sent as a key
  const set = (o: object, k: string | number, v: unknown) => Object.defineProperty(o, k, { value: v, enumerable: true, writable: true, configurable: true });
  if (m.op === 'add' || paths.length === 0) {
    set(copy, m.key, m.value);
    return copy;
  }
  const path = paths[m.at % paths.length];
  const parent = path.slice(0, -1).reduce((o: any, k) => o[k], copy);
  const last = path[path.length - 1];
  if (m.op === 'replace') parent[last] = m.value;
  else if (Array.isArray(parent)) parent.splice(Number(last), 1);
  else if (m.op === 'delete') delete parent[last];
  else {
    const value = parent[last];
    delete parent[last];
    set(parent, m.key, value);
  }
  return copy;
}
const mutationArb = fc.record({
  op: fc.constantFrom('replace', 'replace', 'replace', 'delete', 'rename', 'add'),
  at: fc.nat(),
  value: hostileValue,
  key: fc.oneof(fc.string({ maxLength: 8 }), nulString, loneSurrogate, fc.constantFrom('__proto__', 'constructor', 'toString', '')),
});

// ---------------------------------------------------------------------------------------------------------------
// Cases

type Body =
  | { kind: 'none' }
  | { kind: 'json'; value: unknown }
  | { kind: 'nested'; value: unknown; nest: Nest }
  | { kind: 'text'; text: string }
  | { kind: 'bytes'; bytes: Uint8Array }
  | { kind: 'form'; fields: [string, string | 'png'][] }
  | { kind: 'urlencoded'; value: unknown }
  | { kind: 'oversize'; unit: string }
  | { kind: 'png'; cut: number | null };

type AuthKind =
  | 'valid' | 'none' | 'lowercase-scheme' | 'no-scheme' | 'bearer-only' | 'empty-bearer' | 'garbage' | 'tampered'
  | 'expired' | 'other-secret' | 'ended-session' | 'alg-none' | 'basic' | 'doubled' | 'huge';

interface Case {
  path: string;
  query: string;
  auth: AuthKind;
  body: Body;
  /** undefined: the body kind's own type; null: no Content-Type header */
  contentType: string | null | undefined;
  /** sent as a ReadableStream in chunks of this size (no Content-Length) */
  chunked: number | null;
  headers: Record<string, string>;
  ip: number;
}

const authArb: fc.Arbitrary<AuthKind> = fc.oneof(
  { weight: 16, arbitrary: fc.constant<AuthKind>('valid') },
  { weight: 1, arbitrary: fc.constant<AuthKind>('none') },
  {
    weight: 3,
    arbitrary: fc.constantFrom<AuthKind>(
      'lowercase-scheme', 'no-scheme', 'bearer-only', 'empty-bearer', 'garbage', 'tampered', 'expired', 'other-secret',
      'ended-session', 'alg-none', 'basic', 'doubled', 'huge',
    ),
  },
);

const JSON_TYPES = ['application/json', 'application/json; charset=utf-8', 'APPLICATION/JSON', 'application/vnd.api+json', 'application/problem+json'];
const OTHER_TYPES = [
  'text/plain', 'text/plain; charset=utf-8', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=xyz',
  'application/octet-stream', 'application/xml', 'text/json', 'application/jsonp', 'image/png', '', ' ', 'application/json, text/plain',
  'application/json; charset=latin1', '*/*', 'multipart/form-data',
];
const contentTypeArb: fc.Arbitrary<string | null | undefined> = fc.oneof(
  { weight: 24, arbitrary: fc.constant(undefined) },
  { weight: 2, arbitrary: fc.constantFrom(...JSON_TYPES) },
  { weight: 3, arbitrary: fc.constantFrom(...OTHER_TYPES) },
  { weight: 1, arbitrary: fc.constant(null) },
);

const extraHeadersArb = fc
  .record(
    {
      range: fc.constantFrom('bytes=0-0', 'bytes=0-', 'bytes=-1', 'bytes=5-1', 'bytes=999999999-', 'bytes=abc', 'bytes=0-1,2-3', 'items=0-1', 'bytes=-0'),
      'content-length': fc.constantFrom('0', '1', '-1', 'abc', '99999999999', '1e3'),
      'content-encoding': fc.constantFrom('gzip', 'br', 'identity'),
      accept: fc.constantFrom('application/json', 'text/html', '*/*', 'image/png'),
      'user-agent': fc.oneof(fc.constantFrom('Mozilla/5.0', 'Qt/6', ''), fc.string({ maxLength: 100 })),
    },
    { requiredKeys: [] },
  )
  .map((h) => h as Record<string, string>);

const pathSegmentHostile = fc.oneof(
  fc.constantFrom(
    '0', '-1', '1.5', '1e3', '0x10', '2147483648', '99999999999999999999', '9007199254740993', '%00', 'a%00b', '%ff', '%FF%FE',
    '..', '../', '..%2F..%2Fetc%2Fpasswd', '%2e%2e', '%2e%2e%2f', '%ED%A0%80', '%C0%AE', '%E4%B8%AD%E6%96%87', '中文', '😀',
    '+', '%20', '%', '%zz', 'null', 'undefined', 'NaN', 'true', '[object Object]', ';', '%3B', '?', '%3F', '#', '%23', '%0A', '%0d%0a',
    'x'.repeat(300), '1'.repeat(200), 'task_', 'ref_.png', '.png', 'a.mp4', '..png',
  ),
  fc.integer().map(String),
  fc.string({ unit: 'grapheme', minLength: 1, maxLength: 20 }).map(encodeURIComponent),
  fc.string({ unit: 'binary', minLength: 1, maxLength: 20 }).map((s) => (s.isWellFormed() ? encodeURIComponent(s) : '%ED%B0%80')),
);

/** Real ids for each path parameter: the caller's, another user's. */
function paramPools(op: Operation, name: string): fc.Arbitrary<Pick>[] {
  if (op.path.includes('/sessions/')) return [pick('ownOtherSession'), pick('victimSession'), pick('ownCurrentSession')];
  if (op.path.includes('/favorite_list/')) return [pick('ownNode'), pick('ownNode'), pick('ownRoot'), pick('victimNode')];
  if (name === 'taskId' || name === 'task_id') return [pick('ownTask'), pick('victimTask')];
  if (op.path.startsWith('/uploads/')) return [pick('ownUploadName'), pick('victimUploadName'), pick('ownResultName')];
  return [pick('ownResultName'), pick('victimResultName'), pick('ownUploadName')];
}

function pathArb(op: Operation): fc.Arbitrary<(string | Pick)[]> {
  const parts = op.path.split(/(\{[^}]+\})/).filter(Boolean);
  return fc.tuple(
    ...parts.map((p) => {
      if (!p.startsWith('{')) return fc.constant(p);
      const name = p.slice(1, -1);
      return fc.oneof({ weight: 3, arbitrary: fc.oneof(...paramPools(op, name)) }, { weight: 2, arbitrary: pathSegmentHostile });
    }),
  );
}

const queryArb = fc.oneof(
  { weight: 5, arbitrary: fc.constant('') },
  {
    weight: 2,
    arbitrary: fc
      .array(
        fc.tuple(
          fc.oneof(fc.string({ maxLength: 8 }).map(encodeURIComponent), fc.constantFrom('%00', 'a%00', '%ff', '%ED%A0%80', '', 'page')),
          fc.oneof(fc.string({ maxLength: 20 }).map(encodeURIComponent), pathSegmentHostile),
        ),
        { minLength: 1, maxLength: 4 },
      )
      .map((pairs) => '?' + pairs.map(([k, v]) => `${k}=${v}`).join('&')),
  },
  { weight: 1, arbitrary: fc.constantFrom('?', '?&&', '?=', '?a', '?a=1&a=2', '?%', '?x=' + 'y'.repeat(5000)) },
);

function bodyArb(op: Operation): fc.Arbitrary<Body> {
  if (op.method === 'GET') return fc.constant({ kind: 'none' } as Body);
  const schema = op.spec.requestBody?.content?.['application/json']?.schema;
  const valid = schema ? fromSchema(schema) : fc.constant({});
  const json = (a: fc.Arbitrary<unknown>) => a.map((value): Body => ({ kind: 'json', value }));
  const isUpload = op.path === '/api/v1/upload';
  const noBody = !op.spec.requestBody;
  return fc.oneof(
    { weight: noBody ? 8 : 1, arbitrary: fc.constant<Body>({ kind: 'none' }) },
    { weight: isUpload ? 1 : 14, arbitrary: json(valid) },
    { weight: 6, arbitrary: json(fc.tuple(valid, mutationArb).map(([v, m]) => mutate(v, m))) },
    {
      weight: 2,
      arbitrary: fc
        .tuple(valid, mutationArb, nestArb)
        .map(([v, m, nest]): Body => ({ kind: 'nested', value: mutate(v, { ...m, op: m.op === 'add' ? 'add' : 'replace', value: raw('__NEST__') }), nest })),
    },
    { weight: 1, arbitrary: json(hostileValue) },
    { weight: 2, arbitrary: rawTexts.map((text): Body => ({ kind: 'text', text })) },
    { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 50 }).map((text): Body => ({ kind: 'text', text })) },
    {
      weight: 1,
      arbitrary: fc
        .oneof(fc.constant(Uint8Array.of(0xff, 0xfe, 0x7b, 0x7d)), fc.constant(Uint8Array.of(0x7b, 0x22, 0xc3, 0x22, 0x3a, 0x31, 0x7d)), fc.uint8Array({ maxLength: 64 }))
        .map((bytes): Body => ({ kind: 'bytes', bytes })),
    },
    {
      weight: 2,
      arbitrary: fc
        .array(fc.tuple(fc.constantFrom('file', 'image', 'account', 'prompt', 'json', ''), fc.oneof(fc.string({ maxLength: 20 }), fc.constant<'png'>('png'))), { minLength: 0, maxLength: 3 })
        .map((fields): Body => ({ kind: 'form', fields })),
    },
    { weight: 1, arbitrary: valid.map((value): Body => ({ kind: 'urlencoded', value })) },
    { weight: 1, arbitrary: fc.constantFrom('x', '[', '{"a":"').map((unit): Body => ({ kind: 'oversize', unit })) },
    { weight: isUpload ? 8 : 0, arbitrary: fc.option(fc.nat({ max: 200 }), { nil: null }).map((cut): Body => ({ kind: 'png', cut })) },
  );
}

function caseArb(op: Operation): fc.Arbitrary<Case> {
  return fc
    .record({
      path: pathArb(op),
      query: queryArb,
      auth: authArb,
      body: bodyArb(op),
      contentType: contentTypeArb,
      chunked: fc.oneof({ weight: 4, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: fc.constantFrom(1, 7, 1024, 65536) }),
      headers: fc.oneof({ weight: 5, arbitrary: fc.constant({}) }, { weight: 1, arbitrary: extraHeadersArb }),
      ip: fc.nat({ max: 250 }),
    })
    .map(({ path, ...rest }) => {
      const c: Case = { ...rest, path: path.map((p) => (typeof p === 'string' ? p : `\u0000pick:${p.$pick}:${p.n}`)).join('') };
      return Object.assign(c, { [fc.toStringMethod]: () => describeCase(op, c) });
    });
}

const clip = (s: string, n = 300) => (s.length > n ? `${s.slice(0, n)}… (${s.length} chars)` : s);
function describeCase(op: Operation, c: Case): string {
  const body =
    c.body.kind === 'json' ? clip(toJson(c.body.value)) :
    c.body.kind === 'nested' ? `${clip(toJson(c.body.value))} with __NEST__ = ${c.body.nest.shape} × ${c.body.nest.depth}` :
    c.body.kind === 'text' ? JSON.stringify(clip(c.body.text)) :
    c.body.kind === 'bytes' ? `bytes[${[...c.body.bytes.slice(0, 16)].join(',')}${c.body.bytes.length > 16 ? ',…' : ''}]` :
    JSON.stringify(c.body);
  return `${op.method} ${clip(c.path.replaceAll('\u0000', '$'), 200)}${clip(c.query, 100)} auth=${c.auth} content-type=${JSON.stringify(c.contentType)} chunked=${c.chunked} headers=${JSON.stringify(c.headers)} body=${body}`;
}

// ---------------------------------------------------------------------------------------------------------------
// Sending

let smallPngBytes: Uint8Array;

function authHeader(kind: AuthKind): string | undefined {
  const t = me.token;
  switch (kind) {
    case 'valid': return `Bearer ${t}`;
    case 'none': return undefined;
    case 'lowercase-scheme': return `bearer ${t}`;
    case 'no-scheme': return t;
    case 'bearer-only': return 'Bearer';
    case 'empty-bearer': return 'Bearer ';
    case 'garbage': return 'Bearer abc.def.ghi';
    case 'tampered': return `Bearer ${t.slice(0, -3)}${t.endsWith('AAA') ? 'BBB' : 'AAA'}`;
    case 'basic': return `Basic ${btoa('user:pass')}`;
    case 'doubled': return `Bearer ${t} ${t}`;
    case 'huge': return `Bearer ${'a'.repeat(8000)}`;
    default: return `Bearer ${badTokens[kind]}`;
  }
}

function resolvePath(path: string): string {
  return path.replace(/\u0000pick:(\w+):(\d+)/g, (_, pool, n) => {
    const v = resolve({ $pick: pool, n: Number(n) } as Pick);
    return encodeURIComponent(String(v));
  });
}

interface Built {
  request: Request;
  /** the JSON body as sent, with picks resolved (to learn from successes) */
  json: any;
}

async function buildRequest(op: Operation, c: Case): Promise<Built> {
  const path = resolvePath(c.path);
  const headers = new Headers();
  const auth = authHeader(c.auth);
  if (auth !== undefined) headers.set('authorization', auth);
  for (const [k, v] of Object.entries(c.headers)) headers.set(k, v);
  let bytes: Uint8Array | null = null;
  let type: string | null = null;
  let json: any;
  const encode = (s: string) => new TextEncoder().encode(s);
  const b = c.body;
  switch (b.kind) {
    case 'none':
      // GET and DELETE arrive with `Content-Type: application/json` and no body from the real client (DECISIONS §9)
      type = 'application/json';
      break;
    case 'json':
      json = resolve(b.value);
      bytes = encode(toJson(json));
      type = 'application/json';
      break;
    case 'nested':
      bytes = encode(toJson(resolve(b.value)).replace('__NEST__', nestText(b.nest)));
      type = 'application/json';
      break;
    case 'text':
      bytes = encode(b.text);
      type = 'application/json';
      break;
    case 'bytes':
      bytes = b.bytes;
      break;
    case 'urlencoded': {
      // the valid-ish fields as a form post (`account=a&password=b`): JSON routes take JSON only
      const value = resolve(b.value);
      const pairs: [string, unknown][] = typeof value === 'object' && value !== null ? Object.entries(value) : [['value', value]];
      bytes = encode(new URLSearchParams(pairs.map(([k, v]): [string, string] => [k, typeof v === 'string' ? v : JSON.stringify(v)])).toString());
      type = 'application/x-www-form-urlencoded';
      break;
    }
    case 'oversize':
      bytes = encode(b.unit.repeat(Math.ceil((bodyLimitFor(fuzzConfig, path) + 1) / b.unit.length)));
      type = 'application/json';
      break;
    case 'png':
      bytes = b.cut === null ? smallPngBytes : smallPngBytes.slice(0, b.cut);
      type = 'image/png';
      break;
    case 'form': {
      const form = new FormData();
      for (const [name, value] of b.fields) {
        if (value === 'png') form.append(name, new Blob([smallPngBytes], { type: 'image/png' }), 'a.png');
        else form.append(name, value);
      }
      const res = new Response(form);
      bytes = new Uint8Array(await res.arrayBuffer());
      type = res.headers.get('content-type');
      break;
    }
  }
  const contentType = c.contentType === undefined ? type : c.contentType;
  if (contentType !== null) headers.set('content-type', contentType);
  headers.set('x-forwarded-for', `198.51.100.${c.ip}`);
  let body: RequestInit['body'];
  if (bytes && op.method !== 'GET') {
    if (c.chunked) {
      const chunk = c.chunked;
      const data = bytes;
      let at = 0;
      body = new ReadableStream<Uint8Array>({
        pull(controller) {
          if (at >= data.length) return controller.close();
          controller.enqueue(data.slice(at, at + chunk));
          at += chunk;
        },
      });
    } else body = bytes;
  }
  const request = new Request(`http://localhost${path}${c.query}`, { method: op.method, headers, body, duplex: 'half' } as RequestInit);
  return { request, json };
}

class TimeoutError extends Error {}
function within<T>(ms: number, what: string, p: T | Promise<T>): Promise<T> {
  let timer: Timer;
  return Promise.race([
    // app.handle may answer without a promise (a poll served from memory)
    Promise.resolve(p).finally(() => clearTimeout(timer)),
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new TimeoutError(`${what} did not answer within ${ms} ms`)), ms);
    }),
  ]);
}

// ---------------------------------------------------------------------------------------------------------------
// Database fingerprint: row count and a hash per table. login_throttle is left out (failed logins are counted by
// design), and so are columns that change without a request: sessions.last_used_at (touched by any use of a
// token), password_resets.attempts (every wrong code spends one, by design) and the task columns the worker pool
// writes (status, result, error, attempts, lease, completed_at).

const FINGERPRINT_COLUMNS: Record<string, string> = {
  users: 'id, account, email, password_hash, created_at',
  sessions: 'id, user_id, created_at, expires_at, user_agent, ip',
  password_resets: 'user_id, code_hash, expires_at, sent_at',
  favorites: 'id, user_id, parent_id, name, node_type, refer_url',
  files: 'id, user_id, key, mime, size, width, height, created_at',
  tasks: 'id, user_id, type, prompt, parameters, "references", reference_files, hidden, created_at',
};
const FINGERPRINT = sql.raw(
  'select ' +
    Object.entries(FINGERPRINT_COLUMNS)
      .map(([table, cols]) => `(select count(*) || ':' || coalesce(sum(hashtextextended(row(${cols})::text, 0)), 0) from ${table}) as ${table}`)
      .join(', '),
);
async function fingerprint(): Promise<Record<string, string>> {
  const result: any = await env.database.db.execute(FINGERPRINT);
  return (Array.isArray(result) ? result : result.rows)[0];
}

// ---------------------------------------------------------------------------------------------------------------
// Learning from successes: new ids become candidates for later cases; a token that a case ended is replaced

async function newSession(actor: Actor): Promise<void> {
  const s = await startSession({ db: env.database.db, tokens: env.tokens, clock: env.clock }, env.database.db, actor.userId, {
    userAgent: 'fuzz',
    ip: null,
  });
  actor.token = s.token;
  actor.sessionId = s.sessionId;
}

async function tokenWorks(): Promise<boolean> {
  const res = await app.handle(new Request('http://localhost/api/v1/user/sessions', { headers: { authorization: `Bearer ${me.token}` } }));
  return res.status === 200;
}

async function learn(op: Operation, built: Built, data: any): Promise<void> {
  const body = built.json ?? {};
  const route = routeName(op);
  const remove = <T>(list: T[], gone: T[]) => list.splice(0, list.length, ...list.filter((x) => !gone.includes(x)));
  switch (route) {
    case 'POST /api/v1/user/favorite_list':
      (body.node_type === 'folder' ? me.folderIds : me.fileNodeIds).push(data.id);
      break;
    case 'POST /api/v1/user/favorite_list/batch':
      for (const item of body.items ?? []) {
        const id = data.mapping[String(item.temp_id)];
        if (id !== undefined) (item.node_type === 'folder' ? me.folderIds : me.fileNodeIds).push(id);
      }
      break;
    case 'DELETE /api/v1/user/favorite_list/{id}': {
      const gone = (data as { id: number }[]).map((n) => n.id);
      remove(me.folderIds, gone);
      remove(me.fileNodeIds, gone);
      break;
    }
    case 'POST /api/v1/generation':
      me.taskIds.push(data.task_id);
      break;
    case 'POST /api/v1/upload':
      me.fileIds.push(data.file_id);
      me.fileUrls.push(data.file_url);
      break;
    case 'POST /api/v1/user/reset-email':
      me.email = body.new_email ?? body.email ?? me.email;
      break;
    case 'POST /api/v1/user/reset-password':
      me.password = body.new_password ?? me.password;
      me.otherSessionIds = [];
      // DECISIONS §2: a password change keeps the token that made it
      if (!(await tokenWorks())) throw new Error('a password change ended the session that made it');
      break;
    case 'DELETE /api/v1/user/sessions/{id}':
      remove(me.otherSessionIds, [data.id]);
      if (data.current) await newSession(me);
      break;
    case 'POST /api/v1/auth/logout':
    case 'POST /api/v1/auth/reset-password':
      await newSession(me);
      break;
  }
}

// ---------------------------------------------------------------------------------------------------------------
// The properties of one case

let app: App;
const ENVELOPE_STATUS: Record<number, number> = { 401: 401, 404: 404, 413: 400, 429: 429 };

/** The fingerprint known to hold right now, when the previous case was a verified rejection. */
let knownFingerprint: Record<string, string> | null = null;

async function runCase(op: Operation, c: Case, stats: RouteStats): Promise<void> {
  const built = await buildRequest(op, c);
  const before = knownFingerprint ?? (await fingerprint());
  knownFingerprint = null;
  const res = await within(CASE_TIMEOUT_MS, 'the request', app.handle(built.request));
  const type = res.headers.get('content-type') ?? '';
  const stream = type.startsWith('text/event-stream');
  const text = await within(CASE_TIMEOUT_MS, 'the response body', stream ? firstEvent(res) : res.text());
  stats.count(res.status);

  expect(res.status, 'never HTTP 500').not.toBe(500);
  expect(res.status, 'never HTTP 422').not.toBe(422);
  const allowed = ALLOWED_STATUS.has(res.status) || (res.status === 503 && op.path === '/readyz');
  expect(allowed, `HTTP ${res.status} is not an allowed status`).toBe(true);

  let code: number | null = null;
  let data: unknown;
  if (type.includes('json')) {
    const body = JSON.parse(text);
    expect(Number.isInteger(body?.code), `integer code in ${clip(text)}`).toBe(true);
    expect(typeof body.message, `string message in ${clip(text)}`).toBe('string');
    ({ code, data } = body);
    expect(code, 'never code 500').not.toBe(500);
    expect(code, 'never code 422').not.toBe(422);
    if (ENVELOPE_STATUS[res.status]) expect(code, `code for HTTP ${res.status}`).toBe(ENVELOPE_STATUS[res.status]);
    stats.codes[code!] = (stats.codes[code!] ?? 0) + 1;
  } else if (stream) {
    // the live events of one's own task: the first event is the poll's data
    expect(EVENTS_ROUTE.test(op.path) && res.status === 200, `event stream from ${op.path}`).toBe(true);
    expect(text, 'the first event').toMatch(/^data: \{"task_id":"task_[0-9a-f]{20}".*\}\n\n$/);
    code = 200;
  } else {
    // only file downloads answer with something other than the JSON envelope
    expect(FILE_ROUTE.test(op.path) && [200, 206, 416].includes(res.status), `non-JSON HTTP ${res.status} (${type})`).toBe(true);
  }

  const rejected = res.status >= 400 || (code !== null && code !== 200);
  if (rejected) {
    const after = await fingerprint();
    expect(after, 'a rejected request left the database as it was (row counts:hashes per table)').toEqual(before);
    knownFingerprint = after;
  } else if (code === 200) {
    await learn(op, built, data);
  }

  const health = await within(CASE_TIMEOUT_MS, 'GET /healthz after the case', app.handle(new Request('http://localhost/healthz')));
  expect(health.status).toBe(200);
  expect(await health.json()).toEqual({ code: 200, message: 'ok' });
}

// ---------------------------------------------------------------------------------------------------------------
// Fixtures

async function upload(token: string): Promise<{ file_id: string; file_url: string }> {
  const res = await call('POST', '/api/v1/upload', { token, body: smallPngBytes, headers: { 'content-type': 'image/png' } });
  expect(res.body.code).toBe(200);
  return res.body.data;
}

async function makeActor(prefix: string): Promise<Actor> {
  const user = await newUser(prefix);
  const [{ id: userId }] = await rows(sql`select id from users where account = ${user.account}`);
  const second = await call('POST', '/api/v1/auth/login', { body: { account: user.account, password: PASSWORD } });
  const sessions = (await call('GET', '/api/v1/user/sessions', { token: user.token })).body.data as { id: string; current: boolean }[];
  const list = (await call('GET', '/api/v1/user/favorite_list', { token: user.token })).body.data as { id: number; parent_id: number | null }[];
  const batch = await call('POST', '/api/v1/user/favorite_list/batch', {
    token: user.token,
    body: {
      items: [
        { temp_id: 1, parent_id: list[0].id, name: 'folder', node_type: 'folder' },
        { temp_id: 2, parent_temp_id: 1, name: 'file', node_type: 'file', refer_url: '/generated_outputs/x.png' },
      ],
    },
  });
  const file = await upload(user.token);
  const taskId = await createTask(user.token, { type: 't2i', prompt: 'fuzz fixture', parameters: { width: 64, height: 64 } });
  const task = await waitTask(user.token, taskId);
  expect(second.body.code).toBe(200);
  return {
    ...user,
    userId,
    sessionId: sessions.find((s) => s.current)!.id,
    otherSessionIds: sessions.filter((s) => !s.current).map((s) => s.id),
    rootId: list[0].id,
    folderIds: [batch.body.data.mapping['1']],
    fileNodeIds: [batch.body.data.mapping['2']],
    taskIds: [taskId],
    resultUrls: [task.result_url],
    fileIds: [file.file_id],
    fileUrls: [file.file_url],
  };
}

async function rows(query: ReturnType<typeof sql>): Promise<any[]> {
  const result: any = await env.database.db.execute(query);
  return Array.isArray(result) ? result : result.rows;
}

async function makeBadTokens() {
  const past = { now: () => new Date(Date.now() - 86_400_000) };
  const claims = { userId: me.userId, sessionId: me.sessionId };
  badTokens.expired = (await createTokens(env.config.jwtSecret, 60, past).issue(claims)).token;
  badTokens['other-secret'] = (await createTokens('another-secret-0123456789-0123456789-xyz', 3600, env.clock).issue(claims)).token;
  const ended = await startSession({ db: env.database.db, tokens: env.tokens, clock: env.clock }, env.database.db, me.userId, { userAgent: null, ip: null });
  await env.database.db.execute(sql`delete from sessions where id = ${ended.sessionId}`);
  badTokens['ended-session'] = ended.token;
  const b64 = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
  badTokens['alg-none'] = `${b64({ alg: 'none', typ: 'JWT' })}.${b64({ sub: String(me.userId), sid: me.sessionId, exp: 9_999_999_999 })}.`;
}

// ---------------------------------------------------------------------------------------------------------------
// The runs

class RouteStats {
  cases = 0;
  statuses: Record<number, number> = {};
  codes: Record<number, number> = {};
  count(status: number) {
    this.cases++;
    this.statuses[status] = (this.statuses[status] ?? 0) + 1;
  }
  toString() {
    const fmt = (o: Record<number, number>) => Object.entries(o).map(([k, v]) => `${k}:${v}`).join(' ');
    return `${this.cases} cases (HTTP ${fmt(this.statuses)}; code ${fmt(this.codes)})`;
  }
}

const stats = new Map<string, RouteStats>();
const started = Date.now();
const deadline = started + BUDGET_MS;
let routesLeft = operations.length;

beforeAll(async () => {
  app = env.makeApp({ config: fuzzConfig });
  const w = 24;
  smallPngBytes = encodePng({ width: w, height: w, data: new Uint8Array(w * w * 4).map((_, i) => (i % 4 === 3 ? 255 : (i * 13) % 256)) });
  [me, victim] = await Promise.all([makeActor('fz'), makeActor('fzv')]);
  await makeBadTokens();
});

afterAll(() => {
  for (const [route, s] of stats) console.log(`fuzz: ${route} ${s}`);
  const total = [...stats.values()].reduce((n, s) => n + s.cases, 0);
  console.log(`fuzz: ${total} cases over ${stats.size} routes in ${((Date.now() - started) / 1000).toFixed(1)} s, seed ${SEED} (replay: FUZZ_SEED=${SEED})`);
});

describe('fuzz', () => {
  test('the OpenAPI document lists operations to fuzz', () => {
    expect(operations.length).toBeGreaterThan(ONLY_ROUTE ? 0 : 20);
  });

  for (const op of operations) {
    const route = routeName(op);
    test(route, async () => {
      const s = new RouteStats();
      stats.set(route, s);
      const share = Math.max(100, (deadline - Date.now()) / routesLeft--);
      const stopAt = Date.now() + share;
      let failing = false;
      const outOfTime = () =>
        failing ? Date.now() > stopAt + SHRINK_GRACE_MS : Date.now() > stopAt + (s.cases < MIN_CASES ? MIN_CASES_MS : 0);
      // each route its own seed, derived from the run's and the route's place in the document (same with FUZZ_ROUTE)
      const seed = (SEED + allOperations.indexOf(op) * 7919) % 2_147_483_647;
      const property = fc.asyncProperty(caseArb(op), async (c) => {
        if (outOfTime()) return; // the remaining runs are no-ops
        try {
          await runCase(op, c, s);
        } catch (e) {
          failing = true;
          knownFingerprint = null;
          throw e;
        }
      });
      try {
        await fc.assert(property, { seed, numRuns: MAX_RUNS, path: process.env.FUZZ_PATH });
      } catch (e) {
        console.log(
          `fuzz: FAILED ${route} — replay with FUZZ_SEED=${SEED} FUZZ_ROUTE='${route}' ` +
            `(add FUZZ_PATH=<path below> for the shrunk case; fast-check seed ${seed})\n${(e as Error).message}`,
        );
        throw e;
      }
      expect(s.cases).toBeGreaterThan(0);
    });
  }
});
