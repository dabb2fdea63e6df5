// The published OpenAPI contract (issue 14): /swagger/json lints clean with Redocly's recommended rules, generates
// types with openapi-typescript that a typed client session (test/contract/client-session.ts, openapi-fetch)
// type-checks against with `tsc --strict`, and that session runs against a real server. Also the document rules:
// declared integer types (no coercion unions), enums, 3.1 nullability, named components, error responses,
// security, servers and operation ids; and validation messages that name their field.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import openapiTS, { astToString } from 'openapi-typescript';
import { collapseCoercion, deriveOperationId, fixNullable, OPERATION_ID, simplifyNull } from '../src/http/openapi-doc';
import { runSession } from './contract/client-session';
import { testEnv } from './support/env';
import { call, newUser, uniq } from './support/http';

const ROOT = join(import.meta.dir, '..');
const BIN = join(ROOT, 'node_modules', '.bin');
const GENERATED = join(import.meta.dir, 'contract', 'api.gen.d.ts');
const SESSION = join(import.meta.dir, 'contract', 'client-session.ts');
const METHODS = ['get', 'post', 'put', 'patch', 'delete', 'head', 'options', 'trace'];

type Obj = Record<string, any>;
let doc: Obj;
let generated: string;
const tmp = mkdtempSync(join(tmpdir(), 'aigc-contract-'));
type Run = Awaited<ReturnType<typeof run>>;
let lint: Promise<Run>;
let typecheck: Promise<Run>;

beforeAll(async () => {
  const res = await call('GET', '/swagger/json');
  expect(res.status).toBe(200);
  doc = res.body;
  // the two slow tools run side by side while the other tests go on
  const file = join(tmp, 'openapi.json');
  writeFileSync(file, JSON.stringify(doc));
  lint = run([join(BIN, 'redocly'), 'lint', file, '--config', join(import.meta.dir, 'contract', 'redocly.yaml'), '--format', 'json']);
  generated =
    '// Generated from /swagger/json by openapi-typescript (test/contract.test.ts rewrites it); do not edit.\n' +
    astToString(await openapiTS(doc as Parameters<typeof openapiTS>[0]));
  if (!existsSame(GENERATED, generated)) writeFileSync(GENERATED, generated);
  // as a browser app compiles it: DOM and ES libraries only, no Bun or Node types (an empty typeRoots)
  typecheck = run([
    join(BIN, 'tsc'), '--strict', '--noEmit', '--target', 'ESNext', '--module', 'ESNext', '--moduleResolution', 'bundler',
    '--skipLibCheck', '--lib', 'ESNext,DOM', '--typeRoots', mkdtempSync(join(tmp, 'types-')), SESSION,
  ]);
}, 60_000);

function operations(): { method: string; path: string; op: Obj }[] {
  return Object.entries(doc.paths as Record<string, Obj>).flatMap(([path, item]) =>
    Object.entries(item).filter(([m]) => METHODS.includes(m)).map(([method, op]) => ({ method, path, op: op as Obj })),
  );
}

/** Every object in the document with its JSON pointer. */
function* walk(node: unknown, at = ''): Generator<[string, Obj]> {
  if (Array.isArray(node)) for (const [i, v] of node.entries()) yield* walk(v, `${at}/${i}`);
  else if (node && typeof node === 'object') {
    yield [at, node as Obj];
    for (const [k, v] of Object.entries(node)) yield* walk(v, `${at}/${k}`);
  }
}

const resolve = (node: Obj): Obj => {
  const ref: string | undefined = node?.$ref;
  if (!ref) return node;
  const [, , kind, name] = ref.split('/');
  return resolve(doc.components[kind][name]);
};

async function run(cmd: string[], timeoutMs = 120_000) {
  const proc = Bun.spawn(cmd, {
    cwd: ROOT,
    stdout: 'pipe',
    stderr: 'pipe',
    // Redocly: no usage reports, no update check (the CI machine has no network beyond the registries)
    env: { ...process.env, REDOCLY_TELEMETRY: 'off', REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true', NO_COLOR: '1' },
  });
  const timer = setTimeout(() => proc.kill(), timeoutMs);
  const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  clearTimeout(timer);
  return { code, stdout, stderr };
}

describe('document rules', () => {
  test('OpenAPI 3.1 with servers and named component schemas for envelopes, data and errors', () => {
    expect(doc.openapi).toMatch(/^3\.1\./);
    expect(doc.servers?.length).toBeGreaterThan(0);
    const schemas = doc.components.schemas as Record<string, Obj>;
    for (const name of ['ErrorResponse', 'Task', 'HistoryRecord', 'FavoriteNode', 'AuthLoginResponse', 'AuthLoginData', 'GenerationCreateResponse']) {
      expect(schemas[name], name).toBeDefined();
    }
    // every JSON answer is a named schema
    for (const { method, path, op } of operations()) {
      for (const [status, res] of Object.entries(op.responses as Record<string, Obj>)) {
        const schema = resolve(res).content?.['application/json']?.schema;
        if (schema) expect(schema.$ref, `${method} ${path} ${status}`).toMatch(/^#\/components\/schemas\/[A-Z][A-Za-z0-9]+$/);
      }
    }
    expect(schemas.ErrorResponse.properties.code).toMatchObject({ type: 'integer' });
    expect(schemas.ErrorResponse.required).toEqual(['code', 'message']);
  });

  test('integers are integer: no coercion unions and no string alternative for a number', () => {
    const bad: string[] = [];
    for (const [at, node] of walk(doc)) {
      const alts: Obj[] = node.anyOf ?? node.oneOf ?? [];
      const types = alts.map((a) => a.type);
      if (types.includes('string') && (types.includes('integer') || types.includes('number'))) bad.push(at);
      if (node.type === 'string' && ['integer', 'numeric'].includes(node.format)) bad.push(at);
    }
    expect(bad).toEqual([]);
    const s = doc.components.schemas;
    expect(s.AuthLoginResponse.properties.code).toMatchObject({ type: 'integer' });
    expect(s.FavoriteNode.properties.id).toMatchObject({ type: 'integer' });
    expect(s.FavoriteNode.properties.parent_id.type).toEqual(['integer', 'null']);
    expect(s.GenerationParameters.properties.width).toMatchObject({ type: 'integer', minimum: 64, maximum: 2048 });
    expect(s.FavoritesBatchData.properties.mapping.additionalProperties).toMatchObject({ type: 'integer' });
  });

  test('enums for status, type, node_type and review_status', () => {
    const s = doc.components.schemas;
    expect(s.Task.properties.status.enum).toEqual(['processing', 'completed', 'failed']);
    expect(s.HistoryRecord.properties.status.enum).toEqual(['processing', 'completed', 'failed']);
    expect(s.HistoryRecord.properties.type.enum).toEqual(['t2i', 'i2i', 't2v', 'i2v']);
    expect(s.Task.properties.review_status.enum).toEqual(['pending', 'approved', 'rejected']);
    expect(s.FavoriteNode.properties.node_type.enum).toEqual(['folder', 'file']);
    const body = resolve(doc.paths['/api/v1/generation'].post.requestBody.content['application/json'].schema);
    expect(body.properties.type.enum).toEqual(['t2i', 'i2i', 't2v', 'i2v']);
  });

  test('nullable the 3.1 way, never `nullable: true`', () => {
    const found = [...walk(doc)].filter(([, n]) => 'nullable' in n && typeof n.nullable === 'boolean').map(([at]) => at);
    expect(found).toEqual([]);
    expect(doc.components.schemas.HistoryRecord.properties.result_url.type).toEqual(['string', 'null']);
    expect(doc.components.schemas.LabelsVerifyData.properties.format).toMatchObject({ type: ['string', 'null'], enum: ['png', 'jpeg', 'webp', 'mp4', null] });
  });

  test('realistic examples: numeric ids and a root whose parent_id is null', () => {
    const [root, child] = doc.components.schemas.FavoriteNode.examples;
    expect(root).toMatchObject({ parent_id: null, name: '/', node_type: 'folder' });
    expect(typeof root.id).toBe('number');
    expect(child.parent_id).toBe(root.id);
    expect(doc.components.schemas.Task.examples[0].status).toBe('completed');
  });

  test('error answers 401/404/413/429/500 are documented with the envelope where they occur', () => {
    for (const name of ['Unauthorized', 'NotFound', 'PayloadTooLarge', 'TooManyRequests', 'InternalError']) {
      expect(doc.components.responses[name].content['application/json'].schema.$ref).toBe('#/components/schemas/ErrorResponse');
    }
    expect(doc.components.responses.TooManyRequests.headers['Retry-After'].schema.type).toBe('integer');
    for (const { method, path, op } of operations()) {
      const key = `${method} ${path}`;
      const statuses = Object.keys(op.responses);
      expect(statuses, key).toContain('500');
      expect(statuses.some((s) => /^2/.test(s)), key).toBe(true);
      if (op.security.length > 0) expect(statuses, key).toContain('401');
      if (op.requestBody) expect(statuses, key).toContain('413');
      if (/\{name\}$/.test(path)) expect(statuses, key).toContain('404');
    }
    for (const [path, method] of [['/api/v1/auth/login', 'post'], ['/api/v1/auth/forgot-password', 'post'], ['/api/v1/generation', 'post']]) {
      expect(Object.keys(doc.paths[path][method].responses), path).toContain('429');
    }
  });

  test('security on every operation: [] on public routes, bearer elsewhere', () => {
    const open = new Set(['authRegister', 'authLogin', 'authForgotPassword', 'authResetPassword', 'opsHealthz', 'opsReadyz', 'labelsVerify']);
    for (const { op } of operations()) {
      expect(Array.isArray(op.security), op.operationId).toBe(true);
      if (open.has(op.operationId)) expect(op.security, op.operationId).toEqual([]);
    }
    expect(doc.paths['/api/v1/generation'].post.security).toEqual([{ bearerAuth: [] }]);
  });

  test('readable, unique camelCase operationIds; JSON-only bodies where the spec is JSON', () => {
    const ids = operations().map(({ op }) => op.operationId);
    for (const id of ids) expect(id).toMatch(OPERATION_ID);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids).toEqual(expect.arrayContaining([
      'authRegister', 'authLogin', 'authLogout', 'authForgotPassword', 'authResetPassword', 'generationCreate',
      'generationGet', 'generationCancel', 'favoritesList', 'favoritesCreate', 'favoritesDelete', 'favoritesBatch',
      'historyList', 'historyHide', 'historyDelete', 'uploadCreate', 'labelsVerify', 'sessionsList', 'sessionsEnd',
    ]));
    for (const { method, path, op } of operations()) {
      const types = Object.keys(op.requestBody?.content ?? {});
      if (types.includes('application/json')) expect(types, `${method} ${path}`).toEqual(['application/json']);
    }
  });

  test('the transform helpers: coercion unions collapse, 3.0 nullable becomes 3.1, fallback ids are identifiers', () => {
    const declared = { type: 'integer', minimum: 1 };
    expect(collapseCoercion({ minimum: 1, anyOf: [{ type: 'string', format: 'integer', default: 0 }, declared] })).toEqual(declared);
    const union = { anyOf: [{ type: 'string' }, { type: 'integer' }] };
    expect(collapseCoercion(union)).toBe(union); // a real union stays
    expect(fixNullable({ nullable: true, type: 'string' })).toEqual({ type: ['string', 'null'] });
    expect(fixNullable({ nullable: true, anyOf: [{ type: 'integer' }] })).toEqual({ anyOf: [{ type: 'integer' }, { type: 'null' }] });
    expect(simplifyNull({ anyOf: [{ type: 'integer', minimum: 1 }, { type: 'null' }] })).toEqual({ type: ['integer', 'null'], minimum: 1 });
    expect(simplifyNull({ type: ['string', 'null'], enum: ['png'] })).toEqual({ type: ['string', 'null'], enum: ['png', null] });
    expect(deriveOperationId('patch', '/api/v1/user/favorite_list/{id}')).toBe('patchUserFavoriteListById');
    expect(deriveOperationId('post', '/api/v1/auth/forgot-password')).toMatch(OPERATION_ID);
  });
});

describe('tools', () => {
  test('redocly lint (recommended rules): 0 errors', async () => {
    const r = await lint;
    const report = JSON.parse(r.stdout.slice(r.stdout.indexOf('{')));
    const errors = (report.problems as Obj[]).filter((p) => p.severity === 'error');
    expect(errors.map((e) => `${e.ruleId}: ${e.message} @ ${e.location?.[0]?.pointer}`)).toEqual([]);
    expect(r.code).toBe(0);
    expect(report.totals.errors).toBe(0);
  }, 120_000);

  test('openapi-typescript types: the typed client session type-checks with tsc --strict, without casts', async () => {
    expect(generated).not.toMatch(/string \| number|number \| string/);
    expect(generated).toContain('status: "processing" | "completed" | "failed"');

    const source = readFileSync(SESSION, 'utf8').replace(/\/\/.*$/gm, '');
    expect(source).not.toMatch(/\bany\b/);
    expect(source).not.toMatch(/\bas\s+(?!const\b)[A-Za-z{[(]/); // no type assertions
    expect(source).not.toMatch(/@ts-|!\./); // no suppressions, no non-null assertions

    const r = await typecheck;
    expect(r.stdout + r.stderr).toBe('');
    expect(r.code).toBe(0);
  }, 180_000);
});

function existsSame(path: string, text: string): boolean {
  try {
    return readFileSync(path, 'utf8') === text;
  } catch {
    return false;
  }
}

describe('the typed session against a real server', () => {
  let server: ReturnType<typeof Bun.serve> | undefined;
  afterAll(() => server?.stop(true));

  test('register → login → create → poll → history → favorites list/batch → expired token (HTTP 401)', async () => {
    const env = await testEnv();
    server = Bun.serve({ port: 0, hostname: '127.0.0.1', fetch: (req) => env.app.handle(req) });
    const r = await runSession(`http://127.0.0.1:${server.port}`, uniq('c'));
    expect(r.wrongPassword.code).toBe(401);
    expect(r.task.status).toBe('completed');
    expect(r.task.result_url).toMatch(/^\/generated_outputs\/task_[0-9a-f]+\.png$/);
    expect(r.history).toEqual([r.task.task_id]);
    expect(r.root).toMatchObject({ parent_id: null, name: '/', node_type: 'folder' });
    expect(Object.keys(r.mapping).sort()).toEqual(['1', '2']);
    const folder = r.favoritesAfter.find((n) => n.id === r.mapping['1']);
    const file = r.favoritesAfter.find((n) => n.id === r.mapping['2']);
    expect(folder).toMatchObject({ parent_id: r.root.id, name: 'contract', node_type: 'folder' });
    expect(file).toMatchObject({ parent_id: r.mapping['1'], node_type: 'file', refer_url: r.task.result_url });
    expect(r.expired).toEqual({ code: 401, message: '未登录或登录已过期，请重新登录' });
  }, 60_000);
});

describe('validation messages name their field', () => {
  test('an out-of-range numeric string (Swagger UI pre-fills "width": "0") names parameters.width', async () => {
    const u = await newUser('ct');
    const send = (parameters: Obj) =>
      call('POST', '/api/v1/generation', { token: u.token, body: { type: 't2i', prompt: 'x', parameters } });
    const zero = await send({ width: '0' });
    expect(zero.status).toBe(200);
    expect(zero.body).toEqual({ code: 400, message: '参数不合规：parameters.width' });
    // the same value as a number elsewhere does not confuse it: the string is the culprit
    expect((await send({ height: 0, steps: '0' })).body.message).toBe('参数不合规：parameters.height');
    expect((await send({ height: 64, steps: '0' })).body.message).toBe('参数不合规：parameters.steps');
    expect((await send({ fps: '99' })).body.message).toBe('参数不合规：parameters.fps');
    // an in-range numeric string is still accepted (DECISIONS: numeric strings are coerced)
    const ok = await send({ width: '64', height: '64' });
    expect(ok.body.code).toBe(200);
    expect(ok.body.data.parameters).toMatchObject({ width: 64, height: 64 });
  });
});
