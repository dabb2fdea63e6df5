// Issue 12, retention: files nobody can see any more are removed after RETENTION_DAYS; a referenced file never is.
import { describe, expect, setDefaultTimeout, test } from 'bun:test';
import { eq, sql } from 'drizzle-orm';
import { openDatabase } from '../src/db/client';
import { files, tasks } from '../src/db/schema';
import { purgeExpiredFiles } from '../src/ops/retention';
import { testEnv } from './support/env';
import { call, newUser } from './support/http';
import { createTask, waitTask } from './support/tasks';

setDefaultTimeout(60_000);

const DAY = 86_400_000;
const jpg = await Bun.file(new URL('./fixtures/sample.jpg', import.meta.url)).bytes();

const upload = async (token: string) => {
  const res = await call('POST', '/api/v1/upload', { token, body: jpg, headers: { 'content-type': 'image/jpeg' } });
  expect(res.body.code).toBe(200);
  return res.body.data.file_id as string;
};

describe('retention (RETENTION_DAYS)', () => {
  test('deleted records\' results and unused uploads older than the grace period go; everything else stays', async () => {
    const env = await testEnv();
    const { db } = env.database;
    const u = await newUser('ret');
    // a hidden record, long ago; a hidden record, recently; a visible one
    const old = await createTask(u.token, { type: 't2i', prompt: 'old', parameters: { width: 64, height: 64 } });
    const recent = await createTask(u.token, { type: 't2i', prompt: 'recent', parameters: { width: 64, height: 64 } });
    const kept = await createTask(u.token, { type: 't2i', prompt: 'kept', parameters: { width: 64, height: 64 } });
    for (const id of [old, recent, kept]) expect((await waitTask(u.token, id)).status).toBe('completed');
    for (const id of [old, recent]) expect((await call('DELETE', `/api/v1/user/generation_list/${id}`, { token: u.token })).body.code).toBe(200);
    const longAgo = new Date(Date.now() - 40 * DAY);
    await db.update(tasks).set({ hiddenAt: longAgo }).where(eq(tasks.id, old));
    // an unused upload, long ago; an old upload that a task references; a fresh unused upload
    const unused = await upload(u.token);
    const referenced = await upload(u.token);
    const fresh = await upload(u.token);
    const i2i = await createTask(u.token, { type: 'i2i', prompt: 'uses it', image: referenced, parameters: { width: 64, height: 64 } });
    await waitTask(u.token, i2i);
    await db.update(files).set({ createdAt: longAgo }).where(sql`${files.id} in (${unused}, ${referenced})`);
    const keyOf = async (id: string) => (await db.select({ key: tasks.resultKey }).from(tasks).where(eq(tasks.id, id)))[0].key!;
    const [oldKey, recentKey, keptKey] = [await keyOf(old), await keyOf(recent), await keyOf(kept)];
    const fileKey = async (id: string) => (await db.select({ key: files.key }).from(files).where(eq(files.id, id)))[0]?.key;
    const [unusedKey, referencedKey, freshKey] = [await fileKey(unused), await fileKey(referenced), await fileKey(fresh)];

    const r = await purgeExpiredFiles(env.database, env.storage, env.clock, 30);
    expect(r.ran).toBe(true);
    expect(r.results).toBeGreaterThanOrEqual(1);
    expect(r.uploads).toBeGreaterThanOrEqual(1);
    expect(await env.storage.get(oldKey)).toBeNull();
    expect((await db.select({ key: tasks.resultKey }).from(tasks).where(eq(tasks.id, old)))[0].key).toBeNull();
    for (const key of [recentKey, keptKey, referencedKey!, freshKey!]) expect(await env.storage.get(key)).not.toBeNull();
    expect(await env.storage.get(unusedKey!)).toBeNull();
    expect(await fileKey(unused)).toBeUndefined();
    expect(await fileKey(referenced)).toBe(referencedKey);
    // the visible record still downloads; idempotent: a second run removes nothing more
    const done = await waitTask(u.token, kept);
    expect((await call('GET', done.result_url, { token: u.token })).status).toBe(200);
    const again = await purgeExpiredFiles(env.database, env.storage, env.clock, 30);
    expect(again).toEqual({ results: 0, uploads: 0, ran: true });
    // 0 keeps everything
    expect((await purgeExpiredFiles(env.database, env.storage, env.clock, 0)).ran).toBe(false);
  });

  test('one instance at a time: while one holds the lock, another instance\'s run does nothing', async () => {
    const env = await testEnv();
    if (env.database.kind === 'pglite') {
      // the embedded database is one process, one session: its runs are serialised in the process (startRetention)
      expect(await env.database.withLock(7305511002, async () => 'ran')).toBe('ran');
      return;
    }
    const other = await openDatabase({ kind: 'postgres', url: process.env.TEST_DATABASE_URL!, max: 2 });
    try {
      let release!: () => void;
      const holding = env.database.withLock(7305511002, () => new Promise<string>((r) => (release = () => r('first'))));
      await Bun.sleep(100);
      expect(await purgeExpiredFiles(other, env.storage, env.clock, 30)).toEqual({ results: 0, uploads: 0, ran: false });
      release();
      expect(await holding).toBe('first');
      expect((await purgeExpiredFiles(other, env.storage, env.clock, 30)).ran).toBe(true);
    } finally {
      await other.close();
    }
  });
});
