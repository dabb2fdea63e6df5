// Issue 11, the generation core: the queue's ownership rules, the runner with a provider, cancel, progress and
// NOTIFY, through the real HTTP interface and database.
import { afterAll, describe, expect, setDefaultTimeout, test } from 'bun:test';
import { eq } from 'drizzle-orm';
import { tasks } from '../src/db/schema';
import * as queue from '../src/queue';
import { createLocalProvider } from '../src/providers/local';
import { type GenerationProvider, ProviderRefusal } from '../src/providers/types';
import { encodePng } from '../src/engine/local';
import { testEnv } from './support/env';
import { expectLabelledCopy } from './support/labels';
import { call, newUser } from './support/http';
import { createTask, download, waitTask } from './support/tasks';

setDefaultTimeout(60_000);

afterAll(async () => {
  await (await testEnv()).replacePool();
});

const png = await encodePng({ width: 8, height: 8, data: new Uint8Array(8 * 8 * 4).fill(200) });

/** A provider for tests of the runner itself: answers through a function the test controls. */
function scripted(name: string, run: GenerationProvider['run'], extra: Partial<GenerationProvider> = {}): GenerationProvider {
  return { name, types: ['t2i', 'i2i', 't2v', 'i2v'], concurrency: 4, run, ...extra };
}

const poll = async (token: string, id: string) => (await call('GET', `/api/v1/generation/${id}`, { token })).body.data;

describe('ownership: a claim is identified by its attempt number', () => {
  test('a stale claim can neither complete, fail, save a job nor report progress; the current one can', async () => {
    const env = await testEnv();
    await env.pool.stop(); // nobody else claims while this test drives the queue by hand
    try {
      const u = await newUser('own');
      const id = await createTask(u.token, { type: 't2i', prompt: 'x', parameters: { width: 64, height: 64 } });
      const lease = () => new Date(Date.now() + 60_000);
      const first = await queue.claim(env.database.db, ['t2i'], lease());
      expect(first?.id).toBe(id);
      // its lease runs out; the sweep re-queues it; another instance claims it
      await env.database.db.update(tasks).set({ leaseUntil: new Date(Date.now() - 1000) }).where(eq(tasks.id, id));
      expect((await queue.sweep(env.database.db, new Date(), 3)).requeued).toEqual([id]);
      const second = await queue.claim(env.database.db, ['t2i'], lease());
      expect(second?.attempt).toBe(first!.attempt + 1);
      const stale = { id, attempt: first!.attempt };
      const current = { id, attempt: second!.attempt };
      const result = { key: `outputs/${id}.png`, url: `/generated_outputs/${id}.png`, mime: 'image/png', sha256: 'x', size: 1 };
      expect(await queue.saveJob(env.database.db, stale, 'p', { job: 1 })).toBe(false);
      expect(await queue.heartbeat(env.database.db, [stale], lease())).toEqual([id]);
      expect(await queue.heartbeat(env.database.db, [current], lease())).toEqual([]);
      expect(await queue.complete(env.database.db, stale, result, new Date())).toBe(false);
      expect(await queue.fail(env.database.db, stale, 'no', new Date())).toBe(false);
      expect(await queue.saveJob(env.database.db, current, 'p', { job: 2 })).toBe(true);
      await env.storage.put(result.key, png);
      expect(await queue.complete(env.database.db, current, result, new Date())).toBe(true);
      expect(await queue.complete(env.database.db, current, result, new Date())).toBe(false); // once only
      const [row] = await env.database.db.select().from(tasks).where(eq(tasks.id, id));
      expect(row.status).toBe('completed');
      expect(row.providerJob).toEqual({ job: 2 });
    } finally {
      await env.replacePool();
    }
  });

  test('the heartbeat reports the claims that are no longer owned', async () => {
    const env = await testEnv();
    await env.pool.stop();
    try {
      const u = await newUser('hb');
      const id = await createTask(u.token, { type: 't2i', prompt: 'x', parameters: { width: 64, height: 64 } });
      const c = await queue.claim(env.database.db, ['t2i'], new Date(Date.now() + 60_000));
      const owned = { id, attempt: c!.attempt };
      expect(await queue.heartbeat(env.database.db, [owned], new Date(Date.now() + 60_000))).toEqual([]);
      expect(await queue.heartbeat(env.database.db, [{ id, attempt: c!.attempt - 1 }], new Date(Date.now() + 60_000))).toEqual([id]);
    } finally {
      await env.replacePool();
    }
  });
});

describe('runner with a provider', () => {
  test('routing: each type goes to its provider; the stored file is the provider\'s output, labelled, with its sha-256 and size', async () => {
    const env = await testEnv();
    const seen: string[] = [];
    const remote = scripted('remote', async (job) => {
      seen.push(job.type);
      return { bytes: png, mime: 'image/png' };
    });
    await env.replacePool({ providers: [remote, createLocalProvider({ size: 1 })], routes: { t2i: 'remote', t2v: 'local' } });
    const u = await newUser('route');
    const id = await createTask(u.token, { type: 't2i', prompt: 'fox', parameters: { width: 64, height: 64 } });
    const done = await waitTask(u.token, id);
    expect(done.status).toBe('completed');
    expect(done.result_url).toBe(`/generated_outputs/${id}.png`);
    const stored = (await download(u.token, done.result_url)).bytes;
    await expectLabelledCopy(stored, png, id);
    const [row] = await env.database.db.select().from(tasks).where(eq(tasks.id, id));
    expect(row.provider).toBe('remote');
    expect(row.resultSize).toBe(stored.byteLength);
    expect(row.resultSha256).toBe(new Bun.CryptoHasher('sha256').update(stored).digest('hex'));
    expect(seen).toEqual(['t2i']);
  });

  test('an output of the wrong kind (an image for a video task) fails the task with a clear message', async () => {
    const env = await testEnv();
    await env.replacePool({ providers: [scripted('remote', async () => ({ bytes: png }))], routes: { t2v: 'remote' } });
    const u = await newUser('kind');
    const id = await createTask(u.token, { type: 't2v', prompt: 'fox' });
    const done = await waitTask(u.token, id);
    expect(done.status).toBe('failed');
    expect(done.error).toBe('生成结果格式不正确');
  });

  test('a refusal fails the task with the provider\'s short Chinese message; the provider\'s words stay in the log', async () => {
    const env = await testEnv();
    const lines: string[] = [];
    const log = { info: () => {}, warn: (m: string) => lines.push(m), error: (m: string) => lines.push(m) };
    await env.replacePool({
      log,
      providers: [scripted('remote', async () => { throw new ProviderRefusal('内容未通过安全审核', 'flagged: category violence at https://internal.example/x'); })],
      routes: { t2i: 'remote' },
    });
    const u = await newUser('refuse');
    const done = await waitTask(u.token, await createTask(u.token, { type: 't2i', prompt: 'x' }));
    expect(done.status).toBe('failed');
    expect(done.error).toBe('内容未通过安全审核');
    expect(lines.some((l) => l.includes('flagged'))).toBe(true);
  });

  test('an unexpected provider error is a generic message, never the provider\'s text', async () => {
    const env = await testEnv();
    await env.replacePool({ providers: [scripted('remote', async () => { throw new Error('ECONNRESET at 10.0.0.7:8188'); })], routes: { t2i: 'remote' } });
    const u = await newUser('generic');
    const done = await waitTask(u.token, await createTask(u.token, { type: 't2i', prompt: 'x' }));
    expect(done.error).toBe('生成失败，请稍后重试');
  });

  test('progress and queue position show in the poll and the history while running', async () => {
    const env = await testEnv();
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    await env.replacePool({
      providers: [
        scripted('remote', async (_job, ctx) => {
          ctx.progress({ queuePosition: 3 });
          await Bun.sleep(300);
          ctx.progress({ progress: 42, queuePosition: null });
          await gate;
          return { bytes: png };
        }),
      ],
      routes: { t2i: 'remote' },
    });
    const u = await newUser('prog');
    const id = await createTask(u.token, { type: 't2i', prompt: 'x' });
    let seenQueue = false;
    let seenProgress = false;
    for (let i = 0; i < 100 && !seenProgress; i++) {
      const d = await poll(u.token, id);
      if (d.queue_position === 3) seenQueue = true;
      if (d.progress === 42) {
        seenProgress = true;
        expect(d.queue_position).toBeUndefined();
        const h = (await call('GET', '/api/v1/user/generation_list', { token: u.token })).body.data.find((r: any) => r.task_id === id);
        expect(h.progress).toBe(42);
      }
      await Bun.sleep(30);
    }
    expect(seenQueue).toBe(true);
    expect(seenProgress).toBe(true);
    release();
    const done = await waitTask(u.token, id);
    expect(done.status).toBe('completed');
    expect(done.progress).toBeUndefined();
  });

  test('the local engine reports progress per frame while a video renders', async () => {
    const env = await testEnv();
    // progress written every 5 ms instead of 250 (the runner's option, default unchanged), so that a short render
    // (3 s of 128² video, 72 frames, tens of milliseconds) still spans several writes; polled every 2 ms
    await env.replacePool({ progressEveryMs: 5 });
    try {
      const u = await newUser('lprog');
      const id = await createTask(u.token, { type: 't2v', prompt: 'ocean waves', parameters: { width: 128, height: 128, duration: 3 } });
      const seen = new Set<number>();
      for (;;) {
        const d = await poll(u.token, id);
        if (d.status !== 'processing') break;
        if (d.progress !== undefined) seen.add(d.progress);
        await Bun.sleep(2);
      }
      expect(seen.size).toBeGreaterThan(1);
      for (const p of seen) expect(p >= 0 && p <= 100).toBe(true);
    } finally {
      await env.replacePool();
    }
  });
});

describe('cancel (POST /api/v1/generation/{taskId}/cancel)', () => {
  test('the owner cancels a running task: failed, 已取消, canceled; the provider is told; its work stops', async () => {
    const env = await testEnv();
    const told: unknown[] = [];
    let aborted = false;
    await env.replacePool({
      providers: [
        scripted(
          'remote',
          async (_job, ctx) => {
            await ctx.saveJob({ remoteId: 'job-1' });
            await new Promise((_r, reject) => ctx.signal.addEventListener('abort', () => { aborted = true; reject(ctx.signal.reason); }));
            return { bytes: png };
          },
          { cancel: async (state) => { told.push(state); } },
        ),
      ],
      routes: { t2i: 'remote' },
    });
    const u = await newUser('cancel');
    const id = await createTask(u.token, { type: 't2i', prompt: 'x' });
    for (let i = 0; i < 100; i++) {
      const [row] = await env.database.db.select().from(tasks).where(eq(tasks.id, id));
      if (row.providerJob) break;
      await Bun.sleep(20);
    }
    const other = await newUser('cancel2');
    const foreign = await call('POST', `/api/v1/generation/${id}/cancel`, { token: other.token });
    expect(foreign.body.code).toBe(400);
    const res = await call('POST', `/api/v1/generation/${id}/cancel`, { token: u.token });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ code: 200, message: '任务已取消', data: { task_id: id, status: 'failed', error: '已取消', canceled: true } });
    const d = await poll(u.token, id);
    expect(d).toMatchObject({ status: 'failed', error: '已取消', canceled: true });
    for (let i = 0; i < 100 && told.length === 0; i++) await Bun.sleep(20);
    expect(aborted).toBe(true);
    expect(told).toEqual([{ remoteId: 'job-1' }]);
    // a finished task cannot be canceled again
    expect((await call('POST', `/api/v1/generation/${id}/cancel`, { token: u.token })).body.code).toBe(400);
    expect((await call('POST', '/api/v1/generation/task_00000000000000000000/cancel', { token: u.token })).body.code).toBe(400);
  });

  test('a local video is stopped by a cancel, and the worker is free for the next task', async () => {
    const env = await testEnv();
    await env.replacePool({ size: 1 });
    const u = await newUser('lcancel');
    const id = await createTask(u.token, { type: 't2v', prompt: 'forest fire', parameters: { width: 512, height: 512, duration: 10 } });
    for (let i = 0; i < 200 && (await poll(u.token, id)).progress === undefined; i++) await Bun.sleep(20);
    const res = await call('POST', `/api/v1/generation/${id}/cancel`, { token: u.token });
    expect(res.body.code).toBe(200);
    const next = await createTask(u.token, { type: 't2i', prompt: 'after', parameters: { width: 64, height: 64 } });
    expect((await waitTask(u.token, next, 20_000)).status).toBe('completed');
    expect((await poll(u.token, id)).canceled).toBe(true);
  });
});

describe('resume and NOTIFY', () => {
  test('a stopped instance gives the task back with its provider job; the next claim resumes it instead of submitting', async () => {
    const env = await testEnv();
    const submits: string[] = [];
    const resumes: unknown[] = [];
    let finish!: () => void;
    const gate = new Promise<void>((r) => (finish = r));
    const provider = scripted('remote', async (job, ctx) => {
      if (ctx.resume) resumes.push(ctx.resume);
      else {
        submits.push(job.taskId);
        await ctx.saveJob({ remoteId: `r-${job.taskId}` });
      }
      await Promise.race([gate, new Promise((_r, reject) => ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason)))]);
      return { bytes: png };
    });
    await env.replacePool({ providers: [provider], routes: { t2i: 'remote' } });
    const u = await newUser('resume');
    const id = await createTask(u.token, { type: 't2i', prompt: 'x' });
    for (let i = 0; i < 100 && submits.length === 0; i++) await Bun.sleep(20);
    await env.replacePool({ providers: [provider], routes: { t2i: 'remote' } }, 0); // stop (grace 0) and start again
    for (let i = 0; i < 100 && resumes.length === 0; i++) await Bun.sleep(20);
    finish();
    expect((await waitTask(u.token, id)).status).toBe('completed');
    expect(submits).toEqual([id]);
    expect(resumes).toEqual([{ remoteId: `r-${id}` }]);
  });

  test('a task queued through one app wakes a runner at once by NOTIFY, without waiting for the slow poll', async () => {
    const env = await testEnv();
    const started: number[] = [];
    await env.replacePool({
      pollMs: 60_000, // no safety-net poll within the test
      providers: [scripted('remote', async () => { started.push(Date.now()); return { bytes: png }; })],
      routes: { t2i: 'remote' },
    });
    // an app whose wake() reaches nothing: only the database notification can tell the runner
    const app = env.makeApp({ wake: () => {} });
    const u = await newUser('notify');
    const t0 = Date.now();
    const res = await call('POST', '/api/v1/generation', { app, token: u.token, body: { type: 't2i', prompt: 'x' } });
    expect(res.body.code).toBe(200);
    expect((await waitTask(u.token, res.body.data.task_id, 10_000)).status).toBe('completed');
    expect(started[0] - t0).toBeLessThan(5_000);
  });
});
