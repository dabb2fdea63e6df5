import { describe, expect, test, setDefaultTimeout } from 'bun:test';
import { readdirSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { eq, sql } from 'drizzle-orm';
import { files } from '../src/db/schema';
import { encodePng } from '../src/engine/local';
import { testEnv } from './support/env';
import { call, newUser } from './support/http';
import { pngSize } from './support/media';
import { createTask, download, waitTask } from './support/tasks';

// real hashing, SMTP and generation on 2 cores; Bun 1.4 ignores bunfig's [test] timeout, so it is set per file
setDefaultTimeout(60_000);

const fixture = (name: string) => Bun.file(join(import.meta.dir, 'fixtures', name)).bytes();

async function smallPng(w = 40, h = 30) {
  const data = new Uint8Array(w * h * 4).map((_, i) => (i % 4 === 3 ? 255 : (i * 7) % 256));
  return encodePng({ width: w, height: h, data });
}

/** Files on disk under uploads/ and rows in the files table, to prove a rejection left nothing behind. */
async function stored() {
  const env = await testEnv();
  const dir = join(env.dataDir, 'files', 'uploads');
  const onDisk = existsSync(dir) ? readdirSync(dir).length : 0;
  const [{ n }] = await env.database.db.select({ n: sql<number>`count(*)::int` }).from(files);
  return { onDisk, rows: n };
}

const rawUpload = (token: string, bytes: Uint8Array, type: string, app?: any) =>
  call('POST', '/api/v1/upload', { token, body: bytes, headers: { 'content-type': type }, app });

describe('POST /api/v1/upload', () => {
  test.each([
    ['sample.jpg', 'image/jpeg', '.jpg'],
    ['sample.webp', 'image/webp', '.webp'],
    ['sample.gif', 'image/gif', '.gif'],
  ])('raw %s with Content-Type %s is stored and readable by its owner', async (name, type, ext) => {
    const u = await newUser('up');
    const bytes = await fixture(name);
    const res = await rawUpload(u.token, bytes, type);
    expect(res.status).toBe(200);
    expect(res.body.code).toBe(200);
    expect(res.body.message).toBe('上传成功');
    expect(res.body.data.file_id).toMatch(/^ref_[0-9a-f]{20}$/);
    expect(res.body.data.file_url).toBe(`/uploads/${res.body.data.file_id}${ext}`);
    const back = await download(u.token, res.body.data.file_url);
    expect(back.status).toBe(200);
    expect(back.headers.get('content-type')).toBe(type);
    expect(Buffer.compare(back.bytes, bytes)).toBe(0);
  });

  test('every accepted format works as an i2i reference', async () => {
    const u = await newUser('fmt');
    for (const [name, type] of [['sample.jpg', 'image/jpeg'], ['sample.webp', 'image/webp'], ['sample.gif', 'image/gif']]) {
      const up = await rawUpload(u.token, await fixture(name), type);
      const done = await waitTask(u.token, await createTask(u.token, { type: 'i2i', prompt: 'watercolor', image: up.body.data.file_id }));
      expect(done.status).toBe('completed');
      expect(pngSize((await download(u.token, done.result_url)).bytes)).toEqual({ width: 48, height: 32 });
    }
  });

  test('multipart/form-data: field "file" preferred, else any single file field', async () => {
    const u = await newUser('mp');
    const png = await smallPng();
    const form = new FormData();
    form.append('note', 'hello');
    form.append('file', new Blob([png], { type: 'application/octet-stream' }), 'a.png');
    const a = await call('POST', '/api/v1/upload', { token: u.token, body: form });
    expect(a.body.code).toBe(200);
    expect(a.body.data.file_url).toEndWith('.png');
    const other = new FormData();
    other.append('image', new Blob([await fixture('sample.jpg')], { type: 'image/jpeg' }), 'b.jpg');
    const b = await call('POST', '/api/v1/upload', { token: u.token, body: other });
    expect(b.body.code).toBe(200);
    expect(b.body.data.file_url).toEndWith('.jpg');
    const none = new FormData();
    none.append('note', 'no file here');
    const c = await call('POST', '/api/v1/upload', { token: u.token, body: none });
    expect(c.body.code).toBe(400);
    expect(c.body.message).toContain('file');
  });

  test('rejections are code 400 and leave no file behind', async () => {
    const u = await newUser('rej');
    const png = await smallPng();
    const before = await stored();
    const cases: [string, () => Promise<any>][] = [
      ['wrong type', () => rawUpload(u.token, new TextEncoder().encode('hello'), 'text/plain')],
      ['text with an image type', () => rawUpload(u.token, new TextEncoder().encode('hello world, not an image'), 'image/png')],
      ['lying Content-Type', () => rawUpload(u.token, png, 'image/jpeg')],
      ['truncated PNG', () => rawUpload(u.token, png.subarray(0, png.byteLength - 30), 'image/png')],
      ['PNG header only', () => rawUpload(u.token, png.subarray(0, 40), 'image/png')],
      ['truncated JPEG', async () => rawUpload(u.token, (await fixture('sample.jpg')).subarray(0, 400), 'image/jpeg')],
      ['truncated WebP', async () => rawUpload(u.token, (await fixture('sample.webp')).subarray(0, 100), 'image/webp')],
      ['empty body', () => rawUpload(u.token, new Uint8Array(0), 'image/png')],
      ['empty multipart file', () => {
        const f = new FormData();
        f.append('file', new Blob([]), 'e.png');
        return call('POST', '/api/v1/upload', { token: u.token, body: f });
      }],
      ['svg pretending', () => rawUpload(u.token, new TextEncoder().encode('<svg xmlns="http://www.w3.org/2000/svg"/>'), 'image/svg+xml')],
    ];
    for (const [name, run] of cases) {
      const res = await run();
      expect(res.status, name).toBe(200);
      expect(res.body.code, name).toBe(400);
    }
    expect(await stored()).toEqual(before);
  });

  test('too big: HTTP 413 by Content-Length, code 400 by size; too many pixels: code 400', async () => {
    const env = await testEnv();
    const u = await newUser('big');
    const png = await smallPng(100, 100);
    const before = await stored();
    const small = env.makeApp({ config: { ...env.config, uploadMaxBytes: 200 } });
    const huge = new Uint8Array(200 + 70 * 1024);
    const over = await call('POST', '/api/v1/upload', {
      token: u.token,
      body: huge,
      headers: { 'content-type': 'image/png', 'content-length': String(huge.byteLength) },
      app: small,
    });
    expect(over.status).toBe(413);
    expect(over.body.code).toBe(400);
    const bySize = await rawUpload(u.token, png, 'image/png', small);
    expect(bySize.status).toBe(200);
    expect(bySize.body.code).toBe(400);
    const fewPixels = env.makeApp({ config: { ...env.config, uploadMaxPixels: 100 * 99 } });
    const byPixels = await rawUpload(u.token, png, 'image/png', fewPixels);
    expect(byPixels.body.code).toBe(400);
    expect(await stored()).toEqual(before);
  });

  test('without a token: HTTP 401', async () => {
    const res = await rawUpload('', await smallPng(), 'image/png');
    expect(res.status).toBe(401);
  });

  test('the row records owner, type and size', async () => {
    const env = await testEnv();
    const u = await newUser('row');
    const bytes = await fixture('sample.gif');
    const res = await rawUpload(u.token, bytes, 'image/gif');
    const [row] = await env.database.db.select().from(files).where(eq(files.id, res.body.data.file_id));
    expect(row).toMatchObject({ mime: 'image/gif', size: bytes.byteLength, width: 48, height: 32 });
  });
});
