// Issue 14, fair use: the per-user limits on tasks (USER_MAX_ACTIVE_TASKS, USER_DAILY_TASKS), the round-robin
// queue, and Idempotency-Key on POST /generation and the favorites batch — through the real HTTP interface and
// database. The shared test env raises USER_MAX_ACTIVE_TASKS; these tests build apps with low limits.
import { afterAll, describe, expect, setDefaultTimeout, test } from 'bun:test';
import { and, eq, inArray, sql } from 'drizzle-orm';
import { ConfigError, loadConfig } from '../src/config';
import { idempotencyKeys, tasks, users } from '../src/db/schema';
import { encodePng } from '../src/engine/local';
import { readFairUseSettings, utcDayStart } from '../src/modules/generation/fair-use';
import { housekeep } from '../src/ops/housekeeping';
import type { GenerationProvider } from '../src/providers/types';
import * as queue from '../src/queue';
import type { App } from '../src/app';
import { testEnv } from './support/env';
import { call, newUser, type TestUser } from './support/http';
import { until } from './support/tasks';

setDefaultTimeout(60_000);

afterAll(async () => {
  await (await testEnv()).replacePool();
});

/** An app on the shared database with other fair-use limits (0 = none). */
async function appWith(maxActiveTasks: number, dailyTasks = 0): Promise<App> {
  const env = await testEnv();
  return env.makeApp({ config: { ...env.config, fairUse: { maxActiveTasks, dailyTasks } } });
}

const create = (u: TestUser, body: Record<string, unknown>, o: { app?: App; key?: string } = {}) =>
  call('POST', '/api/v1/generation', { token: u.token, body, app: o.app, headers: o.key === undefined ? {} : { 'idempotency-key': o.key } });

const t2i = (prompt = 'a lighthouse') => ({ type: 't2i', prompt, parameters: { width: 64, height: 64 } });

/** The user's tasks in the database (hidden ones included). */
async function tasksOf(u: TestUser) {
  const env = await testEnv();
  const [row] = await env.database.db.select({ id: users.id }).from(users).where(eq(users.account, u.account));
  return env.database.db.select().from(tasks).where(eq(tasks.userId, row.id));
}

/** Runs `fn` with no runner claiming (tasks stay queued), then restores the default runner. */
async function withoutRunner<T>(fn: () => Promise<T>): Promise<T> {
  const env = await testEnv();
  await env.pool.stop();
  try {
    return await fn();
  } finally {
    // nothing this file queued should run later in someone else's test
    await env.database.db.execute(sql`update tasks set status = 'failed', error = 'test cleanup', completed_at = now()
      where status = 'processing' and lease_until is null and prompt like 'fair-use:%'`);
    await env.replacePool();
  }
}

describe('configuration', () => {
  test('USER_MAX_ACTIVE_TASKS defaults to 4, USER_DAILY_TASKS to no limit; 0 or empty = no limit; junk is refused', () => {
    expect(readFairUseSettings({})).toEqual({ maxActiveTasks: 4, dailyTasks: 0 });
    expect(readFairUseSettings({ USER_MAX_ACTIVE_TASKS: '0', USER_DAILY_TASKS: '' })).toEqual({ maxActiveTasks: 0, dailyTasks: 0 });
    expect(readFairUseSettings({ USER_MAX_ACTIVE_TASKS: ' 10 ', USER_DAILY_TASKS: '200' })).toEqual({ maxActiveTasks: 10, dailyTasks: 200 });
    for (const bad of ['-1', 'four', '1.5', '2000000']) {
      expect(() => readFairUseSettings({ USER_MAX_ACTIVE_TASKS: bad })).toThrow(ConfigError);
      expect(() => readFairUseSettings({ USER_DAILY_TASKS: bad })).toThrow('USER_DAILY_TASKS');
    }
  });

  test('loadConfig carries the settings', async () => {
    const env = await testEnv();
    const c = loadConfig({ DATA_DIR: env.dataDir, JWT_SECRET: 'test-secret-0123456789-0123456789-abcdef', USER_DAILY_TASKS: '7' });
    expect(c.fairUse).toEqual({ maxActiveTasks: 4, dailyTasks: 7 });
  });
});

describe('USER_MAX_ACTIVE_TASKS', () => {
  test('beyond the limit: HTTP 200, code 429, Retry-After and a Chinese message; other users are not affected; a task that ends frees a slot', async () => {
    const app = await appWith(2);
    await withoutRunner(async () => {
      const u = await newUser('act');
      const ids: string[] = [];
      for (let i = 0; i < 2; i++) {
        const r = await create(u, t2i(`fair-use: active ${i}`), { app });
        expect(r.body.code).toBe(200);
        ids.push(r.body.data.task_id);
      }
      const over = await create(u, t2i('fair-use: one too many'), { app });
      expect(over.status).toBe(200);
      expect(over.body).toEqual({ code: 429, message: '进行中的任务已达上限（2 个），请等待任务完成后再试' });
      expect(Number(over.headers.get('retry-after'))).toBeGreaterThan(0);
      expect((await tasksOf(u)).length).toBe(2);

      const other = await newUser('act2');
      expect((await create(other, t2i('fair-use: someone else'), { app })).body.code).toBe(200);

      const cancel = await call('POST', `/api/v1/generation/${ids[0]}/cancel`, { token: u.token, app });
      expect(cancel.body.code).toBe(200);
      expect((await create(u, t2i('fair-use: after a cancel'), { app })).body.code).toBe(200);
      expect((await create(u, t2i('fair-use: over again'), { app })).body.code).toBe(429);
    });
  });

  test('race-safe: eight requests at once with one slot left make exactly one task', async () => {
    const app = await appWith(3);
    await withoutRunner(async () => {
      const u = await newUser('race');
      for (let i = 0; i < 2; i++) expect((await create(u, t2i(`fair-use: race ${i}`), { app })).body.code).toBe(200);
      const answers = await Promise.all(Array.from({ length: 8 }, (_, i) => create(u, t2i(`fair-use: burst ${i}`), { app })));
      const codes = answers.map((a) => a.body.code).sort();
      expect(codes).toEqual([200, 429, 429, 429, 429, 429, 429, 429]);
      expect((await tasksOf(u)).filter((t) => t.status === 'processing').length).toBe(3);
    });
  });
});

describe('USER_DAILY_TASKS', () => {
  test('per UTC day: beyond it code 429 with Retry-After = seconds to the next UTC midnight; the next day it is allowed again', async () => {
    const env = await testEnv();
    const app = await appWith(0, 3);
    const u = await newUser('day');
    try {
      for (let i = 0; i < 3; i++) expect((await create(u, t2i(`fair-use: day ${i}`), { app })).body.code).toBe(200);
      const over = await create(u, t2i('fair-use: fourth'), { app });
      const now = env.clock.now();
      const toMidnight = (utcDayStart(now).getTime() + 86_400_000 - now.getTime()) / 1000;
      expect(over.status).toBe(200);
      expect(over.body.code).toBe(429);
      expect(over.body.message).toStartWith('今日生成次数已达上限（3 次），请 ');
      expect(over.body.message).toContain('UTC 0 点');
      const retry = Number(over.headers.get('retry-after'));
      expect(Math.abs(retry - toMidnight)).toBeLessThanOrEqual(5);
      // tasks that ended (or were deleted) still count: the quota is on creations
      expect((await tasksOf(u)).length).toBe(3);
      env.clock.advance(Math.ceil(toMidnight) * 1000 + 1000);
      expect((await create(u, t2i('fair-use: next day'), { app })).body.code).toBe(200);
    } finally {
      env.clock.reset();
    }
  });
});

describe('round-robin queue', () => {
  const png = encodePng({ width: 8, height: 8, data: new Uint8Array(8 * 8 * 4).fill(90) });

  test("user A queues 50, user B queues 1 after them: B's task starts within the next WORKERS claims", async () => {
    const env = await testEnv();
    const workers = 2;
    const started: string[] = [];
    const gates = new Map<string, () => void>();
    const provider: GenerationProvider = {
      name: 'gated',
      types: ['t2i', 'i2i', 't2v', 'i2v'],
      concurrency: workers,
      async run(job) {
        // a task an earlier test left queued is simply done; only A's and B's are watched and held
        if (!/^fair-use: [AB]\b/.test(job.prompt)) return { bytes: await png, mime: 'image/png' };
        started.push(job.taskId);
        await new Promise<void>((resolve) => gates.set(job.taskId, resolve));
        return { bytes: await png, mime: 'image/png' };
      },
    };
    await env.replacePool({ providers: [provider], routes: { t2i: 'gated' } });
    const a = await newUser('rra');
    const b = await newUser('rrb');
    const aIds: string[] = [];
    try {
      for (let i = 0; i < 50; i++) {
        const r = await create(a, t2i(`fair-use: A ${i}`));
        expect(r.body.code).toBe(200);
        aIds.push(r.body.data.task_id);
      }
      // both workers are busy with A's first tasks
      await until('two of A started', () => started.filter((id) => aIds.includes(id)).length >= workers);
      const bId = (await create(b, t2i('fair-use: B'))).body.data.task_id as string;
      const before = started.length;
      // free the workers one at a time and watch who goes next
      for (let k = 0; k < workers + 1 && !started.includes(bId); k++) {
        const running = started.find((id) => gates.has(id));
        gates.get(running!)!();
        gates.delete(running!);
        await until('the next claim', () => started.length > before + k);
      }
      const position = started.indexOf(bId) - before; // 0 = the first claim after B queued
      expect(position).toBeGreaterThanOrEqual(0);
      expect(position).toBeLessThan(workers);
      expect(position).toBe(0); // in fact the very next claim
      // FIFO would have started A's third task here
      expect(started.slice(0, before)).toEqual(aIds.slice(0, before));
    } finally {
      await env.database.db
        .update(tasks)
        .set({ status: 'failed', error: 'test cleanup', completedAt: new Date() })
        .where(and(inArray(tasks.id, aIds), eq(tasks.status, 'processing')));
      for (const open of gates.values()) open();
      await env.replacePool();
    }
  });

  test('1,000 queued tasks of ten users: claims go round the users, each claim well under the client timeout', async () => {
    const env = await testEnv();
    const db = env.database.db;
    await withoutRunner(async () => {
      const people = await Promise.all(Array.from({ length: 10 }, (_, i) => newUser(`rr${i}`)));
      const ids = await db.select({ id: users.id, account: users.account }).from(users).where(inArray(users.account, people.map((p) => p.account)));
      const userIds = people.map((p) => ids.find((r) => r.account === p.account)!.id);
      // user k's 100 tasks, all older than user k+1's: first-in-first-out would serve one user a hundred times in a row
      const base = Date.now() - 3_600_000;
      const rows = userIds.flatMap((userId, k) =>
        Array.from({ length: 100 }, (_, i) => ({
          id: `task_${k.toString(16).padStart(2, '0')}${i.toString(16).padStart(3, '0')}${'0'.repeat(15)}`,
          userId,
          type: 't2i',
          prompt: `fair-use: bulk ${k}/${i}`,
          parameters: {},
          references: {},
          referenceFiles: [],
          status: 'processing',
          reviewStatus: 'pending',
          // the places POST /generation gives a user who queues 100 at once (one round each)
          fairSeq: i,
          createdAt: new Date(base + k * 1000 + i),
        })),
      );
      await db.insert(tasks).values(rows);
      const lease = new Date(Date.now() + 60_000);
      const served: number[] = [];
      const times: number[] = [];
      while (served.length < 20) {
        const t0 = performance.now();
        const c = await queue.claim(db, ['t2i', 'i2i', 't2v', 'i2v'], lease);
        times.push(performance.now() - t0);
        expect(c).not.toBeNull();
        // (a task another test file left queued may come first; it is not ours to count)
        if (userIds.includes(c!.userId)) served.push(c!.userId);
      }
      // each user once (in the order they queued), then again in the same order
      expect(served.slice(0, 10)).toEqual(userIds);
      expect(served.slice(10)).toEqual(userIds);
      expect(Math.max(...times)).toBeLessThan(1000);
      await db.update(tasks).set({ status: 'failed', leaseUntil: null, error: 'test cleanup' }).where(inArray(tasks.userId, userIds));
    });
  });
});

describe('Idempotency-Key on POST /generation', () => {
  test('the same key and body: the first answer again (same task), Idempotent-Replayed, nothing new queued', async () => {
    const u = await newUser('idem');
    const first = await create(u, t2i('fair-use: once'), { key: 'k-1' });
    expect(first.body.code).toBe(200);
    expect(first.headers.get('idempotent-replayed')).toBeNull();
    // the same body with its keys in another order is the same request
    const again = await create(u, { parameters: { height: 64, width: 64 }, prompt: 'fair-use: once', type: 't2i' }, { key: 'k-1' });
    expect(again.body).toEqual(first.body);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect((await tasksOf(u)).length).toBe(1);
    // another key, or no key, is another request
    expect((await create(u, t2i('fair-use: once'), { key: 'k-2' })).body.data.task_id).not.toBe(first.body.data.task_id);
    expect((await create(u, t2i('fair-use: once'))).body.data.task_id).not.toBe(first.body.data.task_id);
    expect((await tasksOf(u)).length).toBe(3);
    // keys are per user
    const other = await newUser('idem2');
    const theirs = await create(other, t2i('fair-use: once'), { key: 'k-1' });
    expect(theirs.body.code).toBe(200);
    expect(theirs.body.data.task_id).not.toBe(first.body.data.task_id);
  });

  test('the same key with another body, or on the other route: code 400 saying so, nothing created', async () => {
    const u = await newUser('idemx');
    expect((await create(u, t2i('fair-use: first'), { key: 'same' })).body.code).toBe(200);
    const changed = await create(u, t2i('fair-use: second'), { key: 'same' });
    expect(changed.status).toBe(200);
    expect(changed.body).toEqual({ code: 400, message: 'Idempotency-Key 已用于不同的请求内容' });
    const list = await call('GET', '/api/v1/user/favorite_list', { token: u.token });
    const root = list.body.data[0].id;
    const batch = await call('POST', '/api/v1/user/favorite_list/batch', {
      token: u.token,
      headers: { 'idempotency-key': 'same' },
      body: { items: [{ temp_id: 1, parent_id: root, name: 'x', node_type: 'folder' }] },
    });
    expect(batch.body).toEqual({ code: 400, message: 'Idempotency-Key 已用于不同的请求内容' });
    expect((await tasksOf(u)).length).toBe(1);
    expect((await call('GET', '/api/v1/user/favorite_list', { token: u.token })).body.data.length).toBe(1);
  });

  test('a double click (requests at once with one key) makes one task, and every answer names it', async () => {
    const u = await newUser('dbl');
    const answers = await Promise.all(Array.from({ length: 6 }, () => create(u, t2i('fair-use: double click'), { key: 'click-1' })));
    expect(answers.map((a) => a.body.code)).toEqual([200, 200, 200, 200, 200, 200]);
    expect(new Set(answers.map((a) => a.body.data.task_id)).size).toBe(1);
    expect((await tasksOf(u)).length).toBe(1);
  });

  test('a replay is answered even at the active-task limit (the key is looked at first)', async () => {
    const app = await appWith(1);
    await withoutRunner(async () => {
      const u = await newUser('idlim');
      const first = await create(u, t2i('fair-use: limited'), { app, key: 'lim' });
      expect(first.body.code).toBe(200);
      expect((await create(u, t2i('fair-use: limited'), { app, key: 'lim' })).body).toEqual(first.body);
      expect((await create(u, t2i('fair-use: limited'), { app, key: 'lim-2' })).body.code).toBe(429);
    });
  });

  test('refusals are not stored: a refused prompt, then a clean one under the same key, makes the task', async () => {
    const u = await newUser('idref');
    const refused = await create(u, { type: 't2i', prompt: '恐怖袭击' }, { key: 'ref' });
    expect(refused.body.code).toBe(400);
    const clean = await create(u, t2i('fair-use: clean'), { key: 'ref' });
    expect(clean.body.code).toBe(200);
    expect((await create(u, t2i('fair-use: clean'), { key: 'ref' })).body.data.task_id).toBe(clean.body.data.task_id);
  });

  test('keys: at most 255 printable ASCII characters, else code 400 naming the header', async () => {
    const u = await newUser('idkey');
    expect((await create(u, t2i('fair-use: long key'), { key: 'k'.repeat(255) })).body.code).toBe(200);
    for (const bad of ['k'.repeat(256), 'clé', '']) {
      const r = await create(u, t2i('fair-use: bad key'), { key: bad });
      expect(r.status).toBe(200);
      expect(r.body.code).toBe(400);
      expect(r.body.message).toContain('idempotency-key');
    }
    expect((await tasksOf(u)).length).toBe(1);
  });

  test('after 24 h a key is free again, and housekeeping deletes the expired answer', async () => {
    const env = await testEnv();
    const u = await newUser('idexp');
    const first = await create(u, t2i('fair-use: day one'), { key: 'old' });
    const [row] = await env.database.db.select({ id: users.id }).from(users).where(eq(users.account, u.account));
    const stale = new Date(Date.now() - 24 * 3600_000 - 60_000);
    await env.database.db.update(idempotencyKeys).set({ createdAt: stale }).where(eq(idempotencyKeys.userId, row.id));
    // a different body is no conflict any more: the old answer has expired
    const next = await create(u, t2i('fair-use: day two'), { key: 'old' });
    expect(next.body.code).toBe(200);
    expect(next.body.data.task_id).not.toBe(first.body.data.task_id);
    // another expired answer, removed by housekeeping
    await create(u, t2i('fair-use: to purge'), { key: 'purge-me' });
    await env.database.db
      .update(idempotencyKeys)
      .set({ createdAt: stale })
      .where(and(eq(idempotencyKeys.userId, row.id), eq(idempotencyKeys.key, 'purge-me')));
    const result = await housekeep(env.database.db, env.clock, env.config.loginThrottle.windowMs);
    expect(result.idempotencyKeys).toBeGreaterThanOrEqual(1);
    const left = await env.database.db.select({ key: idempotencyKeys.key }).from(idempotencyKeys).where(eq(idempotencyKeys.userId, row.id));
    expect(left.map((r) => r.key)).toEqual(['old']);
  });
});

describe('Idempotency-Key on the favorites batch', () => {
  test('the same key and body: the same mapping, nothing added; requests at once add the nodes once', async () => {
    const u = await newUser('fbat');
    const root = (await call('GET', '/api/v1/user/favorite_list', { token: u.token })).body.data[0].id;
    const body = {
      items: [
        { temp_id: 1, parent_id: root, name: 'folder', node_type: 'folder' },
        { temp_id: 2, parent_temp_id: 1, name: 'a.png', node_type: 'file', refer_url: '/generated_outputs/a.png' },
      ],
    };
    const send = (key: string) => call('POST', '/api/v1/user/favorite_list/batch', { token: u.token, headers: { 'idempotency-key': key }, body });
    const first = await send('b-1');
    expect(first.body.code).toBe(200);
    const again = await send('b-1');
    expect(again.body).toEqual(first.body);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    const count = async () => (await call('GET', '/api/v1/user/favorite_list', { token: u.token })).body.data.length;
    expect(await count()).toBe(3);
    const burst = await Promise.all(Array.from({ length: 4 }, () => send('b-2')));
    expect(burst.every((r) => r.body.code === 200)).toBe(true);
    expect(new Set(burst.map((r) => JSON.stringify(r.body.data.mapping))).size).toBe(1);
    expect(await count()).toBe(5);
    const changed = await call('POST', '/api/v1/user/favorite_list/batch', {
      token: u.token,
      headers: { 'idempotency-key': 'b-1' },
      body: { items: [{ temp_id: 1, parent_id: root, name: 'other', node_type: 'folder' }] },
    });
    expect(changed.body).toEqual({ code: 400, message: 'Idempotency-Key 已用于不同的请求内容' });
    expect(await count()).toBe(5);
  });
});
