// Observability (issue 14): structured logs (format, level, redaction), the access line, X-Request-Id on every
// response and in the log lines and the 500 body, and /metrics (token, content, task and queue metrics).
import { beforeAll, describe, expect, setDefaultTimeout, test } from 'bun:test';
import { createWorkerApp } from '../src/app';
import { ConfigError, type Config } from '../src/config';
import type { Database } from '../src/db/client';
import { createLogger, type Logger, prettyLine, scrubSecrets } from '../src/logger';
import { readObservabilitySettings, secretsOf } from '../src/ops/observability-config';
import { metricsFor } from '../src/ops/metrics';
import { testEnv } from './support/env';
import { call, newUser, PASSWORD, uniq } from './support/http';
import { resetCodeIn } from './support/mail';
import { createTask, until, waitTask } from './support/tasks';

// the shared environment's start (PGlite, the engine) is slow on a busy machine; argon2 makes every login slow
setDefaultTimeout(30_000);
beforeAll(() => testEnv(), 120_000);

/** A pino-backed logger (JSON lines) that keeps every line, parsed. */
function captured(level: 'trace' | 'debug' | 'info' = 'trace', secrets: string[] = []) {
  const raw: string[] = [];
  const log = createLogger({ format: 'json', level, secrets, write: (line) => void raw.push(line) });
  const lines = () => raw.map((l) => JSON.parse(l) as Record<string, any>);
  return { raw, log, lines };
}

const TOKEN = 'metrics-token-0123456789abcdef';

async function metricsApp(log?: Logger) {
  const env = await testEnv();
  const config: Config = { ...env.config, observability: { ...env.config.observability, metricsToken: TOKEN } };
  return env.makeApp(log ? { config, log } : { config });
}

/** The value of one sample in exposition text, e.g. `aigc_tasks_total{type="t2i",...}`; 0 when absent. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number {
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const got = Object.fromEntries([...(m[3] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((x) => [x[1], x[2]]));
    if (Object.entries(labels).every(([k, v]) => got[k] === v)) return Number(m[4]);
  }
  return 0;
}

async function scrape(app: Awaited<ReturnType<typeof metricsApp>>): Promise<string> {
  const res = await call('GET', '/metrics', { app, headers: { authorization: `Bearer ${TOKEN}` } });
  expect(res.status).toBe(200);
  return new TextDecoder().decode(res.body as ArrayBuffer);
}

describe('settings', () => {
  test('LOG_FORMAT defaults to pretty on a terminal and json otherwise; LOG_LEVEL to info; METRICS_TOKEN off', () => {
    expect(readObservabilitySettings({}, true)).toEqual({ logFormat: 'pretty', logLevel: 'info', metricsToken: null });
    expect(readObservabilitySettings({}, false).logFormat).toBe('json');
    expect(readObservabilitySettings({ LOG_FORMAT: 'PRETTY', LOG_LEVEL: 'debug', METRICS_TOKEN: TOKEN }, false)).toEqual({
      logFormat: 'pretty',
      logLevel: 'debug',
      metricsToken: TOKEN,
    });
  });

  test('bad values are configuration errors', () => {
    expect(() => readObservabilitySettings({ LOG_FORMAT: 'xml' })).toThrow(ConfigError);
    expect(() => readObservabilitySettings({ LOG_LEVEL: 'verbose' })).toThrow(ConfigError);
    expect(() => readObservabilitySettings({ METRICS_TOKEN: 'short' })).toThrow(/at least 16/);
  });
});

describe('log lines', () => {
  test('JSON lines carry level, time, message and fields; LOG_LEVEL filters', () => {
    const { log, lines } = captured('info');
    log.debug?.('hidden detail');
    log.info('hello', { a: 1 });
    log.warn('careful');
    log.error('broken', new Error('boom'));
    const got = lines();
    expect(got.map((l) => [l.level, l.msg])).toEqual([
      ['info', 'hello'],
      ['warn', 'careful'],
      ['error', 'broken'],
    ]);
    expect(got[0].a).toBe(1);
    expect(Date.parse(got[0].time)).toBeGreaterThan(0);
    expect(got[2].err.message).toBe('boom');
    expect(got[2].err.stack).toContain('observability.test.ts');
  });

  test('the pretty format is one readable line, fields as key=value, stacks indented below', () => {
    const out: string[] = [];
    const log = createLogger({ format: 'pretty', level: 'info', write: (l) => void out.push(l) });
    log.info('GET /x 200', { status: 200, route: '/x' });
    log.error('failed', new Error('boom'));
    expect(out[0]).toMatch(/^\d{4}-\d\d-\d\dT\S+Z INFO {2}GET \/x 200 {2}status=200 route=\/x\n$/);
    expect(out[1]).toMatch(/^\S+ ERROR failed\n {4}Error: boom\n {8}at /);
    expect(prettyLine('not json')).toBe('not json');
  });

  test('credentials are redacted by pattern and by configured value, in messages, fields and error stacks', () => {
    const jwt = 'eyJhbGciOiJIUzI1NiJ9.eyJ1aWQiOjF9.c2lnbmF0dXJlLXZhbHVl';
    const key = 'sk-proj-abcdefghijklmnop1234';
    const configured = 'my-jwt-secret-value-0123456789-xyz';
    const { log, raw } = captured('trace', [configured]);
    log.info(`header Authorization: Bearer ${jwt}`);
    log.warn(`provider said: invalid key ${key}`, { detail: `token=${'a'.repeat(20)}` });
    log.error('smtp down', new Error(`connect smtp://mailer:hunter2-pass@smtp.example.com failed (${configured})`));
    log.info('login', { password: 'Plain-Password-1', nested: { authorization: 'Basic dXNlcjpwYXNz' } });
    const all = raw.join('');
    for (const s of [jwt, key, configured, 'hunter2-pass', 'a'.repeat(20), 'Plain-Password-1', 'dXNlcjpwYXNz']) expect(all).not.toContain(s);
    expect(all).toContain('[redacted]');
    expect(all).toContain('smtp://mailer:[redacted]@smtp.example.com');
    expect(scrubSecrets('task abc-123 completed in 12 ms')).toBe('task abc-123 completed in 12 ms');
  });

  test("the configuration's secrets are collected for the logger", async () => {
    const env = await testEnv();
    const secrets = secretsOf({
      ...env.config,
      smtpUrl: 'smtp://u:smtp-password-1@h:25',
      observability: { ...env.config.observability, metricsToken: TOKEN },
      providerSettings: { openai: { apiKey: 'sk-provider-key-123456', baseUrl: 'https://api.example.com' } },
    });
    expect(secrets).toEqual(expect.arrayContaining([env.config.jwtSecret, TOKEN, 'smtp-password-1', 'sk-provider-key-123456']));
    expect(secrets).not.toContain('https://api.example.com');
  });
});

describe('access log and request ids', () => {
  test('a poll that answers a task is logged at debug level (from memory and through the route); refusals stay at info; the metric counts every poll', async () => {
    const env = await testEnv();
    const user = await newUser('obsq');
    const taskId = await createTask(user.token, { type: 't2i', prompt: 'quiet poll', parameters: { width: 64, height: 64 } });
    await waitTask(user.token, taskId);
    for (const level of ['info', 'debug'] as const) {
      const { log, lines } = captured(level);
      const config: Config = { ...env.config, observability: { ...env.config.observability, metricsToken: TOKEN } };
      const app = env.makeApp({ config, log });
      const polls200 = async () =>
        sample(await scrape(app), 'http_request_duration_seconds_count', { method: 'GET', route: '/api/v1/generation/:taskId', status: '200' });
      const before = await polls200();
      const poll = (suffix = '') => call('GET', `/api/v1/generation/${taskId}${suffix}`, { app, token: user.token });
      const answers = [await poll(), await poll(), await poll('?')]; // the 2nd from memory, the 3rd through the route
      for (const a of answers) expect(a.body.data.status).toBe('completed');
      const other = await call('GET', '/api/v1/generation/task_00000000000000000000', { app, token: user.token });
      expect(other.body.code).toBe(400);
      const refused = await call('GET', `/api/v1/generation/${taskId}`, { app, token: 'not-a-token' });
      expect(refused.status).toBe(401);
      // counted whatever the level: the three answers and the unknown task (HTTP 200, code 400 in the envelope)
      expect((await polls200()) - before).toBe(4);
      const access = lines().filter((l) => l.route === '/api/v1/generation/:taskId');
      const ids = (xs: { headers: Headers }[]) => xs.map((x) => x.headers.get('x-request-id'));
      if (level === 'info') {
        // only the unknown task and the refused token
        expect(access.map((l) => [l.level, l.status, l.reqId])).toEqual([
          ['info', 200, ids([other])[0]],
          ['info', 401, ids([refused])[0]],
        ]);
      } else {
        expect(access.map((l) => [l.level, l.status, l.reqId])).toEqual([
          ...ids(answers).map((id) => ['debug', 200, id]),
          ['info', 200, ids([other])[0]],
          ['info', 401, ids([refused])[0]],
        ]);
      }
    }
  });


  test('one access line per request: method, route pattern, status, duration, user id, request id', async () => {
    const env = await testEnv();
    const user = await newUser('obs');
    const { log, lines } = captured('info');
    const app = env.makeApp({ log });
    const me = await call('GET', '/api/v1/user/sessions', { app, token: user.token });
    expect(me.status).toBe(200);
    const poll = await call('GET', '/api/v1/generation/no-such-task', { app, token: user.token });
    const ids = [me.headers.get('x-request-id'), poll.headers.get('x-request-id')];
    const access = lines().filter((l) => l.route !== undefined);
    expect(access).toHaveLength(2);
    const [a, b] = access;
    expect(a).toMatchObject({ level: 'info', method: 'GET', route: '/api/v1/user/sessions', status: 200, reqId: ids[0] });
    // the route's pattern, not the raw path (which holds ids)
    expect(b).toMatchObject({ method: 'GET', route: '/api/v1/generation/:taskId', status: 200, reqId: ids[1] });
    expect(JSON.stringify(b)).not.toContain('no-such-task');
    expect(typeof a.durationMs).toBe('number');
    expect(a.durationMs).toBeGreaterThanOrEqual(0);
    expect(a.msg).toBe(`GET /api/v1/user/sessions 200 ${a.durationMs} ms`);
    // the user of the token (`auth` routes) and of the claims (`claims` routes)
    expect(a.userId).toBeGreaterThan(0);
    expect(b.userId).toBe(a.userId);
    // no user on a public route
    await call('GET', '/healthz', { app });
    await call('POST', '/api/v1/auth/login', { app, body: { account: uniq('nobody'), password: 'x' } });
    const login = lines().find((l) => l.route === '/api/v1/auth/login')!;
    expect(login.userId).toBeUndefined();
    // a successful probe is not an info line
    expect(lines().some((l) => l.route === '/healthz')).toBe(false);
  });

  // access lines are built by a fast path of their own (src/logger.ts accessWriter): they must read as pino's lines do
  test('access lines: a probe at debug, a request id that is a secret redacted, the pretty line as prettyLine makes it', async () => {
    const env = await testEnv();
    const secret = 'configured-secret-0123456789';
    const { log, lines, raw } = captured('trace', [secret]);
    const pretty: string[] = [];
    const prettyLog = createLogger({ format: 'pretty', level: 'info', secrets: [secret], write: (l) => void pretty.push(l) });
    for (const app of [env.makeApp({ log }), env.makeApp({ log: prettyLog })]) {
      await call('GET', '/healthz', { app, headers: { 'x-request-id': 'probe-1' } });
      await call('GET', '/healthz', { app, headers: { 'x-request-id': secret } });
      await call('GET', '/api/v1/no-such-route', { app, headers: { 'x-request-id': 'sk-abcdefghijklmnopqrstuvwxyz012345' } });
    }
    const access = lines().filter((l) => l.route !== undefined);
    expect(access.map((l) => [l.level, l.route, l.status, l.reqId])).toEqual([
      ['debug', '/healthz', 200, 'probe-1'],
      ['debug', '/healthz', 200, '[redacted]'],
      ['info', 'unmatched', 404, 'sk-[redacted]'],
    ]);
    expect(raw.join('')).not.toContain(secret);
    for (const l of access) {
      expect(Object.keys(l)).toEqual(['level', 'time', 'pid', 'hostname', 'reqId', 'method', 'route', 'status', 'durationMs', 'msg']);
      expect(new Date(l.time).toISOString()).toBe(l.time);
      expect(l.pid).toBe(process.pid);
    }
    // at info, the probes are left out; the 404's line is what prettyLine makes of its JSON line (but the duration)
    expect(pretty).toHaveLength(1);
    const json = raw.find((l) => l.includes('"status":404'))!;
    const strip = (line: string) => line.replace(/^\S+ /, '').replace(/ [0-9.]+ ms /, ' D ms ').replace(/durationMs=[0-9.]+/, 'durationMs=D');
    expect(strip(pretty[0])).toBe(strip(prettyLine(json)));
    expect(pretty[0]).not.toContain(secret);
  });

  test('a sane client X-Request-Id is kept; anything else is replaced by a new UUID', async () => {
    const sane = 'client.req-42:retry_1';
    const kept = await call('GET', '/healthz', { headers: { 'x-request-id': sane } });
    expect(kept.headers.get('x-request-id')).toBe(sane);
    const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[0-9a-f]{4}-[0-9a-f]{12}$/;
    for (const bad of ['a'.repeat(129), 'has space', 'semi;colon', '<script>']) {
      const res = await call('GET', '/healthz', { headers: { 'x-request-id': bad } });
      expect(res.headers.get('x-request-id')).toMatch(uuid);
    }
    const a = await call('GET', '/healthz');
    const b = await call('GET', '/healthz');
    expect(a.headers.get('x-request-id')).toMatch(uuid);
    expect(a.headers.get('x-request-id')).not.toBe(b.headers.get('x-request-id'));
    expect('a'.repeat(128)).toBe((await call('GET', '/healthz', { headers: { 'x-request-id': 'a'.repeat(128) } })).headers.get('x-request-id')!);
  });

  test('every response carries it: 404, 413 (request guard), 401, a file, the 500 body and its log line', async () => {
    const env = await testEnv();
    const { log, lines } = captured('info');
    const app = env.makeApp({ log });
    const id = (res: { headers: Headers }) => res.headers.get('x-request-id');
    const notFound = await call('GET', '/no/such/route', { app, headers: { 'x-request-id': 'r-404' } });
    expect([notFound.status, id(notFound)]).toEqual([404, 'r-404']);
    const big = 'x'.repeat(env.config.bodyLimit + 10);
    const tooLarge = await call('POST', '/api/v1/auth/login', {
      app,
      body: JSON.stringify({ account: big, password: 'x' }),
      headers: { 'content-type': 'application/json', 'x-request-id': 'r-413' },
    });
    expect([tooLarge.status, id(tooLarge)]).toEqual([413, 'r-413']);
    const noToken = await call('GET', '/api/v1/user/sessions', { app, headers: { 'x-request-id': 'r-401' } });
    expect([noToken.status, id(noToken)]).toEqual([401, 'r-401']);
    const file = await call('GET', '/swagger/assets/swagger-ui.css', { app, headers: { 'x-request-id': 'r-file' } });
    expect([file.status, id(file)]).toEqual([200, 'r-file']);
    // the guard's early answer and the error handler's are logged too
    const byId = new Map(lines().filter((l) => l.status).map((l) => [l.reqId, l]));
    expect(byId.get('r-404')).toMatchObject({ status: 404, route: 'unmatched' });
    expect(byId.get('r-413')).toMatchObject({ status: 413, method: 'POST' });
    expect(byId.get('r-401')).toMatchObject({ status: 401, route: '/api/v1/user/sessions' });

    const broken = { ...env.database, db: new Proxy(env.database.db, { get: () => { throw new Error('SECRET-SQL'); } }) };
    const failing = captured('info');
    const res = await call('POST', '/api/v1/auth/login', {
      app: env.makeApp({ database: broken as Database, log: failing.log }),
      body: { account: 'someone', password: PASSWORD },
      headers: { 'x-request-id': 'r-500' },
    });
    expect(res.status).toBe(500);
    expect(id(res)).toBe('r-500');
    expect(res.body.data.request_id).toBe('r-500');
    // the error line and the access line of that request both carry its id
    const errorLine = failing.lines().find((l) => l.level === 'error')!;
    expect(errorLine).toMatchObject({ reqId: 'r-500' });
    expect(errorLine.err.message).toContain('SECRET-SQL');
    expect(failing.lines().find((l) => l.status === 500)).toMatchObject({ reqId: 'r-500', route: '/api/v1/auth/login' });
  });

  test('an event stream and a result download carry it too', async () => {
    const env = await testEnv();
    const user = await newUser('obse');
    const task = await createTask(user.token, { type: 't2i', prompt: 'request id stream', parameters: { width: 64, height: 64 } });
    const res = await env.app.handle(
      new Request(`http://localhost/api/v1/generation/${task}/events`, { headers: { authorization: `Bearer ${user.token}`, 'x-request-id': 'r-sse' } }),
    );
    expect(res.headers.get('content-type')).toContain('text/event-stream');
    expect(res.headers.get('x-request-id')).toBe('r-sse');
    await res.body?.cancel();
    const done = await waitTask(user.token, task);
    const file = await call('GET', done.result_url, { token: user.token, headers: { 'x-request-id': 'r-result' } });
    expect([file.status, file.headers.get('x-request-id')]).toEqual([200, 'r-result']);
  });

  test('a worker instance answers with the id too', async () => {
    const env = await testEnv();
    const app = createWorkerApp({ config: env.config, database: env.database, log: captured().log });
    const res = await app.handle(new Request('http://localhost/api/v1/user/sessions', { headers: { 'x-request-id': 'w-1' } }));
    expect(res.status).toBe(404);
    expect(res.headers.get('x-request-id')).toBe('w-1');
  });

  test('register, login, reset and a task: no password, token or reset code reaches the log', async () => {
    const env = await testEnv();
    const { log, raw } = captured('trace');
    const app = env.makeApp({ log });
    const account = uniq('sec');
    const email = `${account}@example.com`;
    const password = 'Secret-Pass-7731';
    const newPassword = 'Other-Pass-9917';
    expect((await call('POST', '/api/v1/auth/register', { app, body: { account, email, password } })).body.code).toBe(200);
    const login = await call('POST', '/api/v1/auth/login', { app, body: { account, password } });
    const token: string = login.body.data.token;
    await call('POST', '/api/v1/auth/login', { app, body: { account, password: 'Wrong-Pass-5519' } });
    const before = env.mails.length;
    expect((await call('POST', '/api/v1/auth/forgot-password', { app, body: { email } })).body.code).toBe(200);
    const mail = await until('the reset mail', () => env.mails.slice(before).find((m) => m.to.includes(email)));
    const code = resetCodeIn(mail.raw);
    await call('POST', '/api/v1/auth/reset-password', { app, body: { email, verification_code: '000000', new_password: newPassword } });
    const reset = await call('POST', '/api/v1/auth/reset-password', { app, body: { email, verification_code: code, new_password: newPassword } });
    expect(reset.body.code).toBe(200);
    await call('GET', '/api/v1/user/sessions', { app, token }); // ended by the reset: 401
    expect(raw.length).toBeGreaterThanOrEqual(7);
    const all = raw.join('');
    for (const secret of [password, newPassword, 'Wrong-Pass-5519', token]) expect(all).not.toContain(secret);
    // the 6-digit code, as a word of its own (not inside a timestamp, an id or a number)
    expect(all).not.toMatch(new RegExp(`(?<![0-9A-Za-z.:-])${code}(?![0-9A-Za-z.:])`));
  });
});

describe('/metrics', () => {
  test('absent without METRICS_TOKEN (404); 401 without the right bearer token', async () => {
    const off = await call('GET', '/metrics');
    expect(off.status).toBe(404);
    const app = await metricsApp();
    for (const authorization of [undefined, 'Bearer wrong-token-0123456789', `Basic ${TOKEN}`, `Bearer ${TOKEN}x`, TOKEN]) {
      const res = await call('GET', '/metrics', { app, headers: authorization ? { authorization } : {} });
      expect(res.status).toBe(401);
      expect(res.body.code).toBe(401);
      expect(res.headers.get('www-authenticate')).toContain('Bearer');
    }
  });

  test('the request histogram by route pattern and status, process and pool metrics; not in the OpenAPI document', async () => {
    const app = await metricsApp();
    await call('GET', '/api/v1/generation/some-task', { app }); // 401
    await call('GET', '/healthz', { app });
    const text = await scrape(app);
    expect(text).toContain('# TYPE http_request_duration_seconds histogram');
    expect(sample(text, 'http_request_duration_seconds_count', { method: 'GET', route: '/api/v1/generation/:taskId', status: '401' })).toBeGreaterThanOrEqual(1);
    expect(sample(text, 'http_request_duration_seconds_bucket', { route: '/healthz', status: '200', le: '+Inf' })).toBeGreaterThanOrEqual(1);
    expect(text).not.toContain('some-task');
    expect(text).toContain('process_cpu_user_seconds_total');
    // the event-loop lag is measured (sampled every 100 ms, src/ops/metrics.ts)
    expect(text).toMatch(/^nodejs_eventloop_lag_p99_seconds \d/m);
    const env = await testEnv();
    expect(sample(text, 'aigc_db_pool_max_connections', { driver: env.database.kind })).toBeGreaterThanOrEqual(1);
    expect(text).toMatch(/^aigc_workers_busy \d+$/m);
    const doc = await call('GET', '/swagger/json', { app });
    expect(JSON.stringify(doc.body)).not.toContain('"/metrics"');
  });

  test("the request histogram is written exactly as prom-client's own Histogram writes the same observations", async () => {
    const { Histogram, Registry } = await import('prom-client');
    const { RequestHistogram } = await import('../src/ops/request-histogram');
    const { HTTP_BUCKETS } = await import('../src/ops/metrics');
    const name = 'http_request_duration_seconds';
    const help = 'HTTP requests by method, route pattern and status';
    const ours = new Registry();
    const fast = new RequestHistogram(name, help, HTTP_BUCKETS);
    ours.registerMetric(fast as never);
    const theirs = new Registry();
    const reference = new Histogram({ name, help, labelNames: ['method', 'route', 'status'], buckets: HTTP_BUCKETS, registers: [theirs] });
    // on a bound, between bounds, past the last one; label sets interleaved (listed in the order they first appear)
    const seen: [string, string, number, number][] = [
      ['GET', '/api/v1/generation/:taskId', 200, 0.003],
      ['GET', '/api/v1/generation/:taskId', 200, 0.005],
      ['POST', '/api/v1/generation', 200, 0.04],
      ['GET', '/api/v1/generation/:taskId', 401, 31],
      ['GET', '/api/v1/generation/:taskId', 200, 0.7],
      ['POST', '/api/v1/user/favorite_list/batch', 200, 0.25],
      ['POST', '/api/v1/user/favorite_list/batch', 200, 2.6],
    ];
    for (const [method, route, status, seconds] of seen) {
      fast.observe(method, route, status, seconds);
      reference.observe({ method, route, status: String(status) }, seconds);
    }
    const text = await ours.metrics();
    expect(text).toBe(await theirs.metrics());
    expect(sample(text, `${name}_count`, { method: 'GET', route: '/api/v1/generation/:taskId', status: '200' })).toBe(3);
    ours.resetMetrics();
    expect(await ours.metrics()).toBe(`# HELP ${name} ${help}\n# TYPE ${name} histogram\n`);
  });

  test('task outcomes and durations after a generation; mail sent', async () => {
    const app = await metricsApp();
    const user = await newUser('obsm');
    const labels = { type: 't2i', provider: 'local', outcome: 'completed' };
    const before = await scrape(app);
    const task = await createTask(user.token, { type: 't2i', prompt: 'metrics test', parameters: { width: 64, height: 64 } });
    expect((await waitTask(user.token, task)).status).toBe('completed');
    // the runner counts the outcome once the database has confirmed it; on PostgreSQL a poll on another connection
    // can see the committed row a moment before that confirmation reaches the runner
    const after = await until('the outcome to be counted', async () => {
      const text = await scrape(app);
      return sample(text, 'aigc_tasks_total', labels) > sample(before, 'aigc_tasks_total', labels) ? text : null;
    }, 5000);
    expect(sample(after, 'aigc_tasks_total', labels)).toBe(sample(before, 'aigc_tasks_total', labels) + 1);
    expect(sample(after, 'aigc_task_duration_seconds_count', labels)).toBe(sample(before, 'aigc_task_duration_seconds_count', labels) + 1);
    expect(sample(after, 'aigc_task_duration_seconds_sum', labels)).toBeGreaterThan(sample(before, 'aigc_task_duration_seconds_sum', labels));

    const sent = sample(after, 'aigc_mail_sent_total');
    expect((await call('POST', '/api/v1/auth/forgot-password', { app, body: { email: user.email } })).body.code).toBe(200);
    expect(sample(await scrape(app), 'aigc_mail_sent_total')).toBe(sent + 1);
  }, 60_000);

  test('queue depth and the age of the oldest queued task', async () => {
    const env = await testEnv();
    const app = await metricsApp();
    const user = await newUser('obsq');
    await env.pool.stop(0); // nothing claims the tasks below
    try {
      const idle = await scrape(app);
      const depth0 = sample(idle, 'aigc_queue_depth', { type: 't2v' });
      const ids = [];
      for (let i = 0; i < 2; i++) ids.push(await createTask(user.token, { type: 't2v', prompt: `queued ${i}`, parameters: { width: 64, height: 64 } }));
      await Bun.sleep(1100);
      const text = await scrape(app);
      expect(sample(text, 'aigc_queue_depth', { type: 't2v' })).toBe(depth0 + 2);
      expect(sample(text, 'aigc_queue_oldest_age_seconds', { type: 't2v' })).toBeGreaterThanOrEqual(1);
      for (const id of ids) expect((await call('POST', `/api/v1/generation/${id}/cancel`, { token: user.token })).body).toMatchObject({ code: 200 });
      expect(sample(await scrape(app), 'aigc_queue_depth', { type: 't2v' })).toBe(depth0);
    } finally {
      await env.replacePool();
    }
  }, 30_000);

  test('one registry per database: apps on the same database share it', async () => {
    const env = await testEnv();
    expect(metricsFor(env.database.db)).toBe(metricsFor(env.database.db));
    const other = { ...env.database.db } as unknown as typeof env.database.db;
    expect(metricsFor(other)).not.toBe(metricsFor(env.database.db));
  });
});
