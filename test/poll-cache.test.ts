// Hot reads in memory (issue 15; src/http/read-cache.ts, src/modules/generation/poll-fast.ts): the poll answered
// from memory is byte for byte the route's answer, and a change of a task or a session — made by the API of another
// instance, by a runner, or by plain SQL — is visible to a poll on every instance within 100 ms.
//
// The two-instance part runs two `ROLE=api` processes (the compiled server, test/support/binary.ts) on a scratch PostgreSQL database (see
// test/support/pg.ts); changes that no API makes (progress, completion) are made with SQL, as a worker elsewhere
// would make them, so that they can only reach the instances through the database's notifications.
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from 'bun:test';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import postgres from 'postgres';
import { systemClock } from '../src/clock';
import { createTokens } from '../src/http/tokens';
import { createLogger } from '../src/logger';
import { ANSWER_MAX_MS } from '../src/modules/generation/poll-fast';
import { call, newUser } from './support/http';
import { testEnv } from './support/env';
import { pgAdminUrl, postgresReachable, scratchDatabase } from './support/pg';
import { type ServerProcess, spawnServer } from './support/server-process';
import { createTask, waitTask } from './support/tasks';

setDefaultTimeout(60_000);


/** A new user and one small t2i task of theirs, completed. */
async function completedTask(prompt: string) {
  const user = await newUser('pc');
  const taskId = await createTask(user.token, { type: 't2i', prompt, parameters: { width: 64, height: 64 } });
  await waitTask(user.token, taskId);
  return { user, taskId };
}

/** Every header but the date, sorted; and the body text. */
async function snapshot(res: Response) {
  const headers = [...res.headers].filter(([k]) => k !== 'date').sort(([a], [b]) => a.localeCompare(b));
  return { status: res.status, headers, body: await res.text() };
}

describe('the poll from memory (one instance, the suite database)', () => {
  test('answers exactly what the route answers: status, headers (request id, CORS), body with signed_url', async () => {
    const env = await testEnv();
    const { user, taskId } = await completedTask('a red cube');
    for (const browsers of [env.config.browsers, { ...env.config.browsers, corsOrigins: ['https://app.example.com'], corsCredentials: true }]) {
      const raw: string[] = [];
      // a poll that answers a task is logged at debug level (src/http/access-log.ts)
      const log = createLogger({ format: 'json', level: 'debug', write: (line) => void raw.push(line) });
      const app = env.makeApp({ config: { ...env.config, browsers }, log });
      const req = (suffix: string) =>
        new Request(`http://localhost/api/v1/generation/${taskId}${suffix}`, {
          headers: { authorization: `Bearer ${user.token}`, 'x-request-id': 'poll-cache-1', origin: 'https://app.example.com' },
        });
      await app.handle(req('')); // fills the cache
      // the fast path answers synchronously (a Response, not a Promise); a trailing `?` makes it decline, so the
      // same route answers through Elysia
      const fast = app.handle(req(''));
      expect(fast).toBeInstanceOf(Response);
      const slow = await app.handle(req('?'));
      const a = await snapshot(fast as unknown as Response);
      const b = await snapshot(slow);
      expect(a).toEqual(b);
      expect(a.status).toBe(200);
      expect(JSON.parse(a.body).data.signed_url).toContain(`sid=`);
      expect(a.headers).toContainEqual(['x-request-id', 'poll-cache-1']);
      if (browsers.corsOrigins) expect(a.headers).toContainEqual(['access-control-allow-origin', 'https://app.example.com']);
      // the same access line for both (the fast one is the second of the three)
      const lines = raw.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l.route !== undefined);
      expect(lines).toHaveLength(3);
      const strip = ({ time: _t, durationMs: _d, msg, ...rest }: Record<string, unknown>) => ({ ...rest, msg: String(msg).replace(/ [\d.]+ ms$/, '') });
      expect(strip(lines[1])).toEqual(strip(lines[2]));
      expect(lines[1]).toMatchObject({ level: 'debug', method: 'GET', route: '/api/v1/generation/:taskId', status: 200, reqId: 'poll-cache-1', userId: expect.any(Number) });
      expect(lines.map((l) => l.level)).toEqual(['debug', 'debug', 'debug']);
    }
  });

  // An answer is kept per token and task and served again (poll-fast.ts) while nothing it was made from can have
  // changed: the checks below would fail if it outlived its token, mixed up two tasks, or kept an old signed link.
  test('a kept answer ends with its token: the first poll after the token expires is HTTP 401', async () => {
    const env = await testEnv();
    const { user, taskId } = await completedTask('a short-lived token');
    const claims = JSON.parse(Buffer.from(user.token.split('.')[1], 'base64url').toString()) as { sub: string; sid: string };
    const [userId, sid] = [Number(claims.sub), claims.sid];
    // the same session, a token that lives 2 s (signed with the suite's secret, as the app's own tokens are)
    const { token, expiresAt } = await createTokens(env.config.jwtSecret, 2, systemClock).issue({ userId, sessionId: sid });
    const poll = () => env.app.handle(new Request(`http://localhost/api/v1/generation/${taskId}`, { headers: { authorization: `Bearer ${token}` } }));
    expect((await poll()).status).toBe(200); // verified through the route, then kept
    // an answer made (again) 300 ms before the token expires, well inside the time an answer is kept at most
    await Bun.sleep(Math.max(0, expiresAt.getTime() - Date.now() - 300));
    expect(ANSWER_MAX_MS).toBeGreaterThan(500);
    const kept = poll();
    expect(kept).toBeInstanceOf(Response); // answered from memory
    expect((kept as unknown as Response).status).toBe(200);
    await Bun.sleep(Math.max(0, expiresAt.getTime() - Date.now()) + 20);
    const after = await poll();
    expect(after.status).toBe(401);
    // the user's own token still polls
    expect((await call('GET', `/api/v1/generation/${taskId}`, { token: user.token })).status).toBe(200);
  });

  test('one token polling two tasks in turn gets each task\'s own answer, a change of one shows at once', async () => {
    const env = await testEnv();
    const { user, taskId: a } = await completedTask('task one of two');
    const b = await createTask(user.token, { type: 't2i', prompt: 'task two of two', parameters: { width: 64, height: 64 } });
    await waitTask(user.token, b);
    const poll = async (id: string) => (await call('GET', `/api/v1/generation/${id}`, { token: user.token })).body.data;
    for (let i = 0; i < 3; i++) {
      expect((await poll(a)).task_id).toBe(a);
      expect((await poll(b)).task_id).toBe(b);
    }
    const { sql: q } = await import('drizzle-orm');
    await env.database.db.execute(q`update tasks set review_status = 'rejected', review_message = 'held' where id = ${b}`);
    expect(await until(async () => (await poll(b)).review_status === 'rejected')).toBeLessThan(100);
    expect((await poll(a)).review_status).toBe('approved');
    await env.database.db.execute(q`update tasks set review_status = 'approved', review_message = null where id = ${b}`);
  });

  test("a kept answer's signed link follows the link's expiry step: a new step, a new link", async () => {
    const env = await testEnv();
    const { user, taskId } = await completedTask('a link that turns over');
    const link = async () => (await call('GET', `/api/v1/generation/${taskId}`, { token: user.token })).body.data.signed_url as string;
    const exp = (url: string) => Number(/[?&]exp=(\d+)/.exec(url)![1]);
    const first = await link();
    expect(await link()).toBe(first); // the same step: the same link (and the answer kept)
    try {
      // one step is a quarter of the TTL (result-links.ts): the clock moved by one step gives the next expiry
      const step = Math.max(1, Math.floor(env.config.browsers.signedUrlTtl / 4));
      env.clock.advance(step * 1000);
      const next = await link();
      expect(exp(next)).toBe(exp(first) + step);
      expect(await link()).toBe(next);
    } finally {
      env.clock.reset();
    }
    expect(await link()).toBe(first);
  });

  test('a change made with SQL, a logout, a hidden record: the next poll shows it', async () => {
    const env = await testEnv();
    const { user, taskId } = await completedTask('a blue cube');
    const poll = () => call('GET', `/api/v1/generation/${taskId}`, { token: user.token });
    expect((await poll()).body.data.status).toBe('completed');
    expect((await poll()).body.data.status).toBe('completed');
    // as an operator or another instance would: only the database's notification can tell this process
    const sql = env.database.db;
    const { sql: q } = await import('drizzle-orm');
    await sql.execute(q`update tasks set review_status = 'rejected', review_message = 'held' where id = ${taskId}`);
    const seen = await until(async () => (await poll()).body.data.review_status === 'rejected');
    expect(seen).toBeLessThan(100);
    await sql.execute(q`update tasks set review_status = 'approved', review_message = null where id = ${taskId}`);
    expect(await until(async () => (await poll()).body.data.review_status === 'approved')).toBeLessThan(100);
    // hidden through the API: the very next poll is code 400, and the history no longer lists it
    const hist = await call('GET', '/api/v1/user/generation_list', { token: user.token });
    expect(hist.body.data.map((r: { task_id: string }) => r.task_id)).toContain(taskId);
    expect((await call('DELETE', `/api/v1/user/generation_list/${taskId}`, { token: user.token })).body.code).toBe(200);
    expect((await poll()).body).toMatchObject({ code: 400 });
    const after = await call('GET', '/api/v1/user/generation_list', { token: user.token });
    expect(after.body.data.map((r: { task_id: string }) => r.task_id)).not.toContain(taskId);
    // a session ended through the API: the very next poll is HTTP 401
    const { user: other, taskId: t2 } = await completedTask('a green cube');
    expect((await call('GET', `/api/v1/generation/${t2}`, { token: other.token })).status).toBe(200);
    expect((await call('GET', `/api/v1/generation/${t2}`, { token: other.token })).status).toBe(200);
    expect((await call('GET', '/api/v1/user/favorite_list', { token: other.token })).status).toBe(200);
    expect((await call('POST', '/api/v1/auth/logout', { token: other.token })).body.code).toBe(200);
    expect((await call('GET', `/api/v1/generation/${t2}`, { token: other.token })).status).toBe(401);
    expect((await call('GET', '/api/v1/user/favorite_list', { token: other.token })).status).toBe(401);
    // a session ended with SQL (an operator, another instance): every authenticated route refuses it within 100 ms
    const third = await newUser('pc');
    const favorites = () => call('GET', '/api/v1/user/favorite_list', { token: third.token });
    expect((await favorites()).status).toBe(200);
    expect((await favorites()).status).toBe(200);
    await sql.execute(q`delete from sessions where user_id = (select id from users where account = ${third.account})`);
    expect(await until(async () => (await favorites()).status === 401)).toBeLessThan(100);
  });

  test('the history from memory follows every change of the user\'s tasks (a new task, SQL, another user untouched)', async () => {
    const env = await testEnv();
    const { sql: q } = await import('drizzle-orm');
    const user = await newUser('pc');
    const list = async () => (await call('GET', '/api/v1/user/generation_list', { token: user.token })).body.data as { task_id: string; prompt: string; status: string }[];
    expect(await list()).toEqual([]);
    expect(await list()).toEqual([]);
    const t1 = await createTask(user.token, { type: 't2i', prompt: 'first', parameters: { width: 64, height: 64 } });
    expect((await list()).map((r) => r.task_id)).toEqual([t1]);
    await waitTask(user.token, t1);
    expect((await list())[0].status).toBe('completed');
    await env.database.db.execute(q`update tasks set prompt = 'changed by SQL' where id = ${t1}`);
    expect(await until(async () => (await list())[0].prompt === 'changed by SQL')).toBeLessThan(100);
  });
});

describe('READ_CACHE', () => {
  test('on by default; false turns the poll from memory off; anything else is a configuration error', async () => {
    const { loadConfig } = await import('../src/config');
    const base = { JWT_SECRET: 'x'.repeat(40), DATA_DIR: mkdtempSync(join(tmpdir(), 'aigc-rc-')) };
    expect(loadConfig(base).readCache).toBe(true);
    expect(loadConfig({ ...base, READ_CACHE: 'false' }).readCache).toBe(false);
    expect(() => loadConfig({ ...base, READ_CACHE: 'sometimes' })).toThrow('READ_CACHE=sometimes must be true or false');
    const env = await testEnv();
    const { user, taskId } = await completedTask('off');
    const off = env.makeApp({ config: { ...env.config, readCache: false } });
    const req = () => new Request(`http://localhost/api/v1/generation/${taskId}`, { headers: { authorization: `Bearer ${user.token}` } });
    await off.handle(req());
    const second = off.handle(req());
    expect(second).toBeInstanceOf(Promise); // no answer before Elysia
    expect(((await (await second).json()) as { data: { status: string } }).data.status).toBe('completed');
  });
});

/** Milliseconds until `check` holds (polling as fast as it can), or Infinity after 5 s. */
async function until(check: () => Promise<boolean>, limitMs = 5_000): Promise<number> {
  const t0 = performance.now();
  for (;;) {
    if (await check()) return performance.now() - t0;
    if (performance.now() - t0 > limitMs) return Infinity;
    await Bun.sleep(1);
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Two instances on PostgreSQL

const reachable = await postgresReachable(pgAdminUrl());
if (!reachable && process.env.CI) throw new Error('poll-cache test: PostgreSQL is not reachable');
if (!reachable) console.warn(`poll-cache test: the two-instance part is skipped: PostgreSQL is not reachable at ${pgAdminUrl()}`);

describe.skipIf(!reachable)('two instances on one PostgreSQL database', () => {
  const JWT_SECRET = 'poll-cache-secret-0123456789-abcdefghijkl';
  const work = mkdtempSync(join(tmpdir(), 'aigc-pollcache-'));
  let db: Awaited<ReturnType<typeof scratchDatabase>>;
  let sql: postgres.Sql;
  const procs: ServerProcess[] = [];

  async function start(name: string) {
    const inst = await spawnServer({
      env: {
        PATH: process.env.PATH ?? '',
        HOME: process.env.HOME ?? work,
        TMPDIR: process.env.TMPDIR ?? tmpdir(),
        ROLE: 'api',
        DATA_DIR: mkdtempSync(join(work, `${name}-`)),
        DATABASE_URL: db.url,
        JWT_SECRET,
        USER_MAX_ACTIVE_TASKS: '0',
      },
      logFile: join(work, `${name}.log`),
      ready: '/readyz',
    });
    procs.push(inst);
    return inst;
  }

  const api = async (base: string, method: string, path: string, token?: string, body?: unknown, signal?: AbortSignal) => {
    const res = await fetch(base + path, {
      method,
      headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body ? { 'content-type': 'application/json' } : {}) },
      body: body ? JSON.stringify(body) : undefined,
      signal,
    });
    return { status: res.status, body: (await res.json()) as any };
  };

  let A: { base: string };
  let B: { base: string };
  let token = '';
  let taskId = '';

  beforeAll(async () => {
    db = await scratchDatabase('pollcache');
    [A, B] = await Promise.all([start('A'), start('B')]);
    sql = postgres(db.url, { max: 2, onnotice: () => {} });
    const account = `pc${Date.now().toString(36)}`;
    expect((await api(A.base, 'POST', '/api/v1/auth/register', undefined, { account, email: `${account}@example.com`, password: 'User@1234' })).body.code).toBe(200);
    token = (await api(B.base, 'POST', '/api/v1/auth/login', undefined, { account, password: 'User@1234' })).body.data.token;
    // ROLE=api instances run nothing: the task stays processing until this test moves it, as a worker would
    taskId = (await api(A.base, 'POST', '/api/v1/generation', token, { type: 't2v', prompt: 'waves', parameters: {} })).body.data.task_id;
    expect(taskId).toMatch(/^task_/);
  });

  afterAll(async () => {
    await Promise.all(procs.map((p) => p.kill9()));
    await sql?.end({ timeout: 1 }).catch(() => {});
    await db?.drop().catch(() => {});
    rmSync(work, { recursive: true, force: true });
  });

  const pollOn = (base: string) => api(base, 'GET', `/api/v1/generation/${taskId}`, token);

  test('both instances answer polls from memory: with the tasks table locked, a poll still answers at once', async () => {
    for (const inst of [A, B]) for (let i = 0; i < 3; i++) expect((await pollOn(inst.base)).body.data.status).toBe('processing');
    // a poll that went to the database would wait for the lock (and the abort below would fail it)
    await sql.begin(async (tx) => {
      await tx`lock table tasks in access exclusive mode`;
      for (const inst of [A, B]) {
        const r = await api(inst.base, 'GET', `/api/v1/generation/${taskId}`, token, undefined, AbortSignal.timeout(2_000));
        expect(r.body.data.status).toBe('processing');
      }
    });
  });

  test('every authenticated route checks a session known alive in memory: with the sessions table locked, it still answers', async () => {
    for (const inst of [A, B]) expect((await api(inst.base, 'GET', '/api/v1/user/favorite_list', token)).body.code).toBe(200);
    await sql.begin(async (tx) => {
      await tx`lock table sessions in access exclusive mode`;
      for (const inst of [A, B]) {
        const r = await api(inst.base, 'GET', '/api/v1/user/favorite_list', token, undefined, AbortSignal.timeout(2_000));
        expect(r.body.code).toBe(200);
      }
    });
  });

  test('progress, completion and a logout made elsewhere are visible to polls on both instances within 100 ms', async () => {
    const visible = (check: (r: { status: number; body: any }) => boolean) =>
      Promise.all([A, B].map((inst) => until(async () => check(await pollOn(inst.base)))));
    for (const inst of [A, B]) await pollOn(inst.base); // cached again
    await sql`update tasks set progress = 40 where id = ${taskId}`;
    for (const ms of await visible((r) => r.body.data?.progress === 40)) expect(ms).toBeLessThan(100);
    await sql`update tasks set status = 'completed', result_url = ${`/generated_outputs/${taskId}.mp4`}, completed_at = now(), progress = null where id = ${taskId}`;
    for (const ms of await visible((r) => r.body.data?.status === 'completed')) expect(ms).toBeLessThan(100);
    // the logout goes to A; B has the session cached
    expect((await pollOn(B.base)).status).toBe(200);
    const favoritesOn = (base: string) => api(base, 'GET', '/api/v1/user/favorite_list', token);
    for (const inst of [A, B]) expect((await favoritesOn(inst.base)).status).toBe(200);
    expect((await api(A.base, 'POST', '/api/v1/auth/logout', token)).body.code).toBe(200);
    for (const ms of await visible((r) => r.status === 401)) expect(ms).toBeLessThan(100);
    // and for every other authenticated route
    for (const ms of await Promise.all([A, B].map((inst) => until(async () => (await favoritesOn(inst.base)).status === 401)))) expect(ms).toBeLessThan(100);
  });

  test('when an instance\'s LISTEN connection is cut, it stops answering from memory until it listens again', async () => {
    const account = `pd${Date.now().toString(36)}`;
    await api(A.base, 'POST', '/api/v1/auth/register', undefined, { account, email: `${account}@example.com`, password: 'User@1234' });
    const tok = (await api(B.base, 'POST', '/api/v1/auth/login', undefined, { account, password: 'User@1234' })).body.data.token;
    const id = (await api(B.base, 'POST', '/api/v1/generation', tok, { type: 't2i', prompt: 'p', parameters: {} })).body.data.task_id;
    const poll = () => api(B.base, 'GET', `/api/v1/generation/${id}`, tok);
    await poll();
    await poll();
    // every LISTEN of the scratch database ends; notifications sent before the instances listen again are lost
    await sql`select pg_terminate_backend(pid) from pg_stat_activity where datname = current_database() and query ilike 'listen%'`;
    await sql`update tasks set progress = 77 where id = ${id}`;
    // B forgets what it held when it listens again, or stops trusting memory when its heartbeat does not come back
    expect(await until(async () => (await poll()).body.data.progress === 77)).toBeLessThan(2_000);
    // and once listening again, changes are quick again
    await Bun.sleep(300);
    await poll();
    await sql`update tasks set progress = 78 where id = ${id}`;
    expect(await until(async () => (await poll()).body.data.progress === 78)).toBeLessThan(100);
  });
});
