import { afterAll, describe, expect, test, setDefaultTimeout } from 'bun:test';
import { join } from 'node:path';
import { eq } from 'drizzle-orm';
import { tasks } from '../src/db/schema';
import { testEnv } from './support/env';
import { call, newUser, uploadPng as upload } from './support/http';
import { gradientPng } from './support/images';
import { pngSize } from './support/media';
import { createTask, download, waitTask } from './support/tasks';

// real hashing, SMTP and generation on 2 cores; Bun 1.4 ignores bunfig's [test] timeout, so it is set per file
setDefaultTimeout(60_000);



describe('POST /api/v1/generation validation (code 400, nothing queued)', () => {
  const cases: [string, Record<string, unknown>, string][] = [
    ['missing type', { prompt: 'x' }, 'type'],
    ['unknown type', { type: 'x2y', prompt: 'x' }, 'type'],
    ['missing prompt', { type: 't2i' }, 'prompt'],
    ['prompt not a string', { type: 't2i', prompt: 5 }, 'prompt'],
    ['blank prompt', { type: 't2i', prompt: '   ' }, 'prompt'],
    ['prompt over 2000', { type: 't2i', prompt: 'a'.repeat(2001) }, 'prompt'],
    ['width too small', { type: 't2i', prompt: 'x', parameters: { width: 63 } }, 'width'],
    ['height too large', { type: 't2i', prompt: 'x', parameters: { height: 2049 } }, 'height'],
    ['width not an integer', { type: 't2i', prompt: 'x', parameters: { width: 100.5 } }, 'width'],
    ['width a word', { type: 't2i', prompt: 'x', parameters: { width: 'wide' } }, 'width'],
    ['strength above 1', { type: 't2i', prompt: 'x', parameters: { strength: 1.5 } }, 'strength'],
    ['negative seed', { type: 't2i', prompt: 'x', parameters: { seed: -1 } }, 'seed'],
    ['steps 0', { type: 't2i', prompt: 'x', parameters: { steps: 0 } }, 'steps'],
    ['duration 11', { type: 't2v', prompt: 'x', parameters: { duration: 11 } }, 'duration'],
    ['fps 60', { type: 't2v', prompt: 'x', parameters: { fps: 60 } }, 'fps'],
    ['video frame too large', { type: 't2v', prompt: 'x', parameters: { width: 2048, height: 1024 } }, 'width'],
    ['parameters an array', { type: 't2i', prompt: 'x', parameters: [1] }, 'parameters'],
    ['parameters a string', { type: 't2i', prompt: 'x', parameters: 'big' }, 'parameters'],
    ['i2i without reference', { type: 'i2i', prompt: 'x' }, 'image'],
    ['i2v with empty images', { type: 'i2v', prompt: 'x', images: [] }, 'image'],
    ['unknown file id', { type: 'i2i', prompt: 'x', image: 'ref_00000000000000000000' }, 'image'],
    ['not a file id', { type: 'i2i', prompt: 'x', images: ['../../etc/passwd'] }, 'images[0]'],
    ['images not an array', { type: 'i2i', prompt: 'x', images: 'ref_00000000000000000000' }, 'images'],
  ];
  test.each(cases)('%s', async (_name, body, field) => {
    const u = await newUser('val');
    const res = await call('POST', '/api/v1/generation', { token: u.token, body });
    expect(res.status).toBe(200);
    expect(res.body.code).toBe(400);
    expect(res.body.message).toContain(field);
    const list = await call('GET', '/api/v1/user/generation_list', { token: u.token });
    expect(list.body.data).toEqual([]);
  });

  test('without a token: HTTP 401', async () => {
    const res = await call('POST', '/api/v1/generation', { body: { type: 't2i', prompt: 'x' } });
    expect(res.status).toBe(401);
    expect(res.body.code).toBe(401);
  });
});

describe('cross-user access is refused everywhere', () => {
  test("tasks, results, uploads, references and history of another user", async () => {
    const a = await newUser('own');
    const b = await newUser('oth');
    const ref = await upload(a, await gradientPng(64, 64));
    const id = await createTask(a.token, { type: 't2i', prompt: 'private', parameters: { width: 64, height: 64 } });
    const done = await waitTask(a.token, id);
    // task
    const t = await call('GET', `/api/v1/generation/${id}`, { token: b.token });
    expect(t.status).toBe(200);
    expect(t.body.code).toBe(400);
    expect(t.body.data).toBeUndefined();
    // result and upload files
    expect((await download(b.token, done.result_url)).status).toBe(404);
    expect((await download(b.token, ref.file_url)).status).toBe(404);
    expect((await download(a.token, ref.file_url)).status).toBe(200);
    expect((await download(undefined, done.result_url)).status).toBe(401);
    // someone else's file as a reference
    const r = await call('POST', '/api/v1/generation', { token: b.token, body: { type: 'i2i', prompt: 'x', image: ref.file_id } });
    expect(r.body.code).toBe(400);
    const r2 = await call('POST', '/api/v1/generation', { token: b.token, body: { type: 'i2i', prompt: 'x', images: [ref.file_url] } });
    expect(r2.body.code).toBe(400);
    // history and its deletion
    expect((await call('GET', '/api/v1/user/generation_list', { token: b.token })).body.data).toEqual([]);
    expect((await call('POST', '/api/v1/user/generation_list', { token: b.token, body: { result_url: done.result_url } })).body.code).toBe(400);
    expect((await call('DELETE', `/api/v1/user/generation_list/${id}`, { token: b.token })).body.code).toBe(400);
    expect((await download(a.token, done.result_url)).status).toBe(200);
  });

  test('unknown ids and path tricks are 400 / 404', async () => {
    const u = await newUser('path');
    expect((await call('GET', '/api/v1/generation/task_00000000000000000000', { token: u.token })).body.code).toBe(400);
    expect((await call('GET', '/api/v1/generation/nonsense', { token: u.token })).body.code).toBe(400);
    for (const p of [
      '/generated_outputs/..%2F..%2Fetc%2Fpasswd',
      '/generated_outputs/%2e%2e%2fjwt-secret',
      '/generated_outputs/task_00000000000000000000.png',
      '/generated_outputs/task_00000000000000000000.png%00.mp4',
      '/uploads/..%2Fjwt-secret',
      '/uploads/ref_00000000000000000000.png',
    ]) {
      const res = await download(u.token, p);
      expect(res.status, p).toBe(404);
    }
  });
});

describe('history (endpoints 7 and 15)', () => {
  test('oldest first with status; hide by url and by id; hidden results are 404', async () => {
    const u = await newUser('hist');
    const env = await testEnv();
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      ids.push(await createTask(u.token, { type: 't2i', prompt: `picture ${i}`, parameters: { width: 64, height: 64, n: i } }));
      env.clock.advance(1000); // distinct created_at seconds
    }
    env.clock.reset();
    const done = [];
    for (const id of ids) done.push(await waitTask(u.token, id));
    const list = await call('GET', '/api/v1/user/generation_list', { token: u.token });
    expect(list.body.code).toBe(200);
    expect(list.body.data.map((r: any) => r.task_id)).toEqual(ids);
    expect(list.body.data[1]).toEqual({
      task_id: ids[1],
      created_at: expect.stringMatching(/Z$/),
      type: 't2i',
      prompt: 'picture 1',
      parameters: { width: 64, height: 64, n: 1 },
      result_url: done[1].result_url,
      status: 'completed',
      review_status: 'approved',
      signed_url: expect.stringMatching(/^\/generated_outputs\/task_[0-9a-f]{20}\.png\?exp=\d+&sid=[\w-]+&sig=[0-9a-f]{64}$/),
    });

    const byUrl = await call('POST', '/api/v1/user/generation_list', { token: u.token, body: { result_url: done[0].result_url } });
    expect(byUrl.body).toEqual({ code: 200, message: '删除生成记录成功', data: { result_url: done[0].result_url } });
    const byId = await call('DELETE', `/api/v1/user/generation_list/${ids[2]}`, { token: u.token });
    expect(byId.body.data).toEqual({ result_url: done[2].result_url });
    const after = await call('GET', '/api/v1/user/generation_list', { token: u.token });
    expect(after.body.data.map((r: any) => r.task_id)).toEqual([ids[1]]);
    expect((await download(u.token, done[0].result_url)).status).toBe(404);
    expect((await call('GET', `/api/v1/generation/${ids[0]}`, { token: u.token })).body.code).toBe(400);
    // again, or unknown: code 400
    expect((await call('POST', '/api/v1/user/generation_list', { token: u.token, body: { result_url: done[0].result_url } })).body.code).toBe(400);
    expect((await call('POST', '/api/v1/user/generation_list', { token: u.token, body: { result_url: '/generated_outputs/nope.png' } })).body.code).toBe(400);
    expect((await call('DELETE', `/api/v1/user/generation_list/${ids[2]}`, { token: u.token })).body.code).toBe(400);
    expect((await call('POST', '/api/v1/user/generation_list', { token: u.token, body: {} })).body.code).toBe(400);
  });

  test('hiding a record removes the favorite file nodes that point at it, in the same transaction', async () => {
    const u = await newUser('favh');
    const id = await createTask(u.token, { type: 't2i', prompt: 'keep me', parameters: { width: 64, height: 64 } });
    const done = await waitTask(u.token, id);
    const tree = await call('GET', '/api/v1/user/favorite_list', { token: u.token });
    const root = tree.body.data[0].id;
    const folder = await call('POST', '/api/v1/user/favorite_list', { token: u.token, body: { parent_id: root, name: 'album', node_type: 'folder' } });
    const add = (parent_id: number, name: string, refer_url: string) =>
      call('POST', '/api/v1/user/favorite_list', { token: u.token, body: { parent_id, name, node_type: 'file', refer_url } });
    await add(root, 'a.png', done.result_url);
    await add(folder.body.data.id, 'b.png', done.result_url);
    await add(folder.body.data.id, 'other.png', '/generated_outputs/other.png');
    // another user's node with the same url is not touched
    const other = await newUser('favo');
    const otherRoot = (await call('GET', '/api/v1/user/favorite_list', { token: other.token })).body.data[0].id;
    await call('POST', '/api/v1/user/favorite_list', { token: other.token, body: { parent_id: otherRoot, name: 'x.png', node_type: 'file', refer_url: done.result_url } });

    const res = await call('POST', '/api/v1/user/generation_list', { token: u.token, body: { result_url: `http://localhost${done.result_url}` } });
    expect(res.body.code).toBe(200);
    const names = (await call('GET', '/api/v1/user/favorite_list', { token: u.token })).body.data.map((n: any) => n.name);
    expect(names).toEqual(['/', 'album', 'other.png']);
    const otherNames = (await call('GET', '/api/v1/user/favorite_list', { token: other.token })).body.data.map((n: any) => n.name);
    expect(otherNames).toEqual(['/', 'x.png']);
  });
});

describe('worker pool resilience', () => {
  const crashWorker = new URL('./fixtures/crash-worker.ts', import.meta.url).href;
  afterAll(async () => {
    await (await testEnv()).replacePool();
  });

  test('a worker that exits or throws fails only its task and is replaced', async () => {
    const env = await testEnv();
    await env.replacePool({ workerUrl: crashWorker, size: 1 });
    const u = await newUser('crash');
    for (const prompt of ['CRASH-EXIT now', 'CRASH-THROW now']) {
      const bad = await createTask(u.token, { type: 't2i', prompt, parameters: { width: 64, height: 64 } });
      const failed = await waitTask(u.token, bad);
      expect(failed.status).toBe('failed');
      expect(failed.error).toContain('worker');
      expect(failed.result_url).toBeUndefined();
      const good = await createTask(u.token, { type: 't2i', prompt: 'after the crash', parameters: { width: 64, height: 64 } });
      expect((await waitTask(u.token, good)).status).toBe('completed');
    }
  });

  test('restart: a task left processing by a dead instance is finished; one out of attempts is failed', async () => {
    const env = await testEnv();
    const u = await newUser('restart');
    // an instance whose only worker hangs claims the task, then dies without a word
    await env.replacePool({ workerUrl: crashWorker, size: 1, leaseMs: 60_000 });
    const id = await createTask(u.token, { type: 't2i', prompt: 'HANG then finish', parameters: { width: 64, height: 64 } });
    const exhausted = await createTask(u.token, { type: 't2i', prompt: 'exhausted', parameters: { width: 64, height: 64 } });
    const { db } = env.database;
    for (let i = 0; i < 100 && !(await db.select().from(tasks).where(eq(tasks.id, id)))[0].leaseUntil; i++) await Bun.sleep(20);
    await env.pool.stop(60_000 * 0); // stop() gives leases back; simulate the crash by restoring an expired lease
    const past = new Date(Date.now() - 1000);
    await db.update(tasks).set({ leaseUntil: past, attempts: 1 }).where(eq(tasks.id, id));
    await db.update(tasks).set({ leaseUntil: past, attempts: 3 }).where(eq(tasks.id, exhausted));
    expect((await call('GET', `/api/v1/generation/${id}`, { token: u.token })).body.data.status).toBe('processing');
    // the restarted instance (default worker) recovers it
    await env.replacePool();
    const done = await waitTask(u.token, id);
    expect(done.status).toBe('completed');
    const [row] = await db.select().from(tasks).where(eq(tasks.id, id));
    expect(row.attempts).toBe(2);
    const gaveUp = await waitTask(u.token, exhausted);
    expect(gaveUp.status).toBe('failed');
    expect(gaveUp.error).toContain('abandoned');
  });

  test('the heartbeat keeps the lease of a running task alive', async () => {
    const env = await testEnv();
    const u = await newUser('lease');
    await env.replacePool({ workerUrl: crashWorker, size: 1, leaseMs: 400 });
    const id = await createTask(u.token, { type: 't2i', prompt: 'HANG forever', parameters: { width: 64, height: 64 } });
    const { db } = env.database;
    for (let i = 0; i < 100 && !(await db.select().from(tasks).where(eq(tasks.id, id)))[0].leaseUntil; i++) await Bun.sleep(20);
    const [claimed] = await db.select().from(tasks).where(eq(tasks.id, id));
    expect(claimed.attempts).toBe(1);
    // the heartbeat keeps the lease alive while the instance lives
    await Bun.sleep(1000);
    const [alive] = await db.select().from(tasks).where(eq(tasks.id, id));
    expect(alive.leaseUntil!.getTime()).toBeGreaterThan(Date.now() - 50);
    expect(alive.attempts).toBe(1);
  });
});

test('the stored file of a result lives under DATA_DIR/files/outputs', async () => {
  const env = await testEnv();
  const u = await newUser('store');
  const id = await createTask(u.token, { type: 't2i', prompt: 'on disk', parameters: { width: 64, height: 64 } });
  await waitTask(u.token, id);
  const file = Bun.file(join(env.dataDir, 'files', 'outputs', `${id}.png`));
  expect(await file.exists()).toBe(true);
  expect(pngSize(new Uint8Array(await file.arrayBuffer()))).toEqual({ width: 64, height: 64 });
});

test('numeric strings in known parameters are read as numbers', async () => {
  const u = await newUser('coerce');
  const res = await call('POST', '/api/v1/generation', { token: u.token, body: { type: 't2i', prompt: 'x', parameters: { width: '96', height: 64 } } });
  expect(res.body.code).toBe(200);
  expect(res.body.data.parameters).toEqual({ width: 96, height: 64 });
  const done = await waitTask(u.token, res.body.data.task_id);
  expect(pngSize((await download(u.token, done.result_url)).bytes)).toEqual({ width: 96, height: 64 });
});

test('polling with a revoked token is HTTP 401, for an existing and for an unknown task', async () => {
  const u = await newUser('revoke');
  const other = (await call('POST', '/api/v1/auth/login', { body: { account: u.account, password: u.password } })).body.data.token;
  const id = await createTask(u.token, { type: 't2i', prompt: 'x', parameters: { width: 64, height: 64 } });
  expect((await call('GET', `/api/v1/generation/${id}`, { token: other })).body.code).toBe(200);
  const change = await call('POST', '/api/v1/user/reset-password', { token: u.token, body: { old_password: u.password, new_password: 'Changed123' } });
  expect(change.body.code).toBe(200);
  for (const path of [`/api/v1/generation/${id}`, '/api/v1/generation/task_00000000000000000000', '/api/v1/generation/junk']) {
    const r = await call('GET', path, { token: other });
    expect(r.status, path).toBe(401);
    expect(r.body.code).toBe(401);
  }
  expect((await call('GET', `/api/v1/generation/${id}`, { token: u.token })).body.code).toBe(200);
  expect((await call('GET', `/api/v1/generation/${id}`, { token: change.body.data.token })).body.code).toBe(200);
});
