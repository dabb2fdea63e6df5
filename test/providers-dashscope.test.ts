// The `dashscope` provider end to end: the real HTTP interface and runner against a fake DashScope task API
// (test/fakes/dashscope.ts) — four types, 429 retry, refusals, link expiry, resume without resubmitting, cancel,
// settings, and no key in the logs.
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from 'bun:test';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { eq } from 'drizzle-orm';
import { ConfigError, loadConfig } from '../src/config';
import { tasks } from '../src/db/schema';
import { MSG_UNAVAILABLE } from '../src/generation/runner';
import { createDashScopeProvider, DASHSCOPE_DEFAULT_MODELS, type DashScopeSettings, dashscopeProvider } from '../src/providers/dashscope';
import { type FakeDashScope, sampleMedia, startFakeDashScope } from './fakes/dashscope';
import { testEnv } from './support/env';
import { ffmpegPath } from './support/ffprobe';
import { expectLabelledCopy } from './support/labels';
import { call, newUser, type TestUser } from './support/http';
import { createTask, download, waitTask, until } from './support/tasks';
import { recordingLogger } from './support/logs';

setDefaultTimeout(60_000);

const { lines, log } = recordingLogger();
const rt = { maxOutputBytes: 64 * 1024 * 1024, downloadTimeoutMs: 10_000 };
const ROUTES = { t2i: 'dashscope', i2i: 'dashscope', t2v: 'dashscope', i2v: 'dashscope' } as const;

let fake: FakeDashScope;
let u: TestUser;

const settings = (over: Partial<DashScopeSettings> = {}): DashScopeSettings => ({
  apiKey: fake.key,
  baseUrl: fake.url,
  models: { ...DASHSCOPE_DEFAULT_MODELS },
  concurrency: 4,
  poll: { initialMs: 20, factor: 1.5, maxMs: 100 },
  ...over,
});

/** a runner with a fresh dashscope provider (as a restarted instance would have) */
async function usePool(over: Partial<DashScopeSettings> = {}, graceMs?: number) {
  const env = await testEnv();
  return env.replacePool({ providers: [createDashScopeProvider(settings(over), rt)], routes: ROUTES, log }, graceMs);
}


async function row(id: string) {
  const env = await testEnv();
  return (await env.database.db.select().from(tasks).where(eq(tasks.id, id)))[0];
}

async function uploadPng(user: TestUser): Promise<string> {
  const { png } = await sampleMedia();
  const res = await call('POST', '/api/v1/upload', { token: user.token, body: png, headers: { 'content-type': 'image/png' } });
  expect(res.body.code).toBe(200);
  return res.body.data.file_id;
}

const submissionFor = (prompt: string) => fake.submissions().filter((r) => r.body?.input?.prompt === prompt);

beforeAll(async () => {
  fake = await startFakeDashScope();
  u = await newUser('dash');
  await usePool();
});

afterAll(async () => {
  await (await testEnv()).replacePool();
  await fake.stop();
});

describe('dashscope: the four types end to end', () => {
  test('t2i: submitted async with the key, size and seed; the stored bytes are exactly the provider’s', async () => {
    const id = await createTask(u.token, { type: 't2i', prompt: 'a red fox', parameters: { width: 1024, height: 768, seed: 7, prompt_extend: false } });
    const done = await waitTask(u.token, id);
    expect(done.status).toBe('completed');
    const file = await download(u.token, done.result_url);
    expect(file.status).toBe(200);
    await expectLabelledCopy(file.bytes, fake.bytes('image'));
    const [sub] = submissionFor('a red fox');
    expect(sub.path).toBe('/api/v1/services/aigc/text2image/image-synthesis');
    expect(sub.authorized).toBe(true);
    expect(sub.body).toEqual({
      model: 'wan2.2-t2i-flash',
      input: { prompt: 'a red fox' },
      parameters: { seed: 7, n: 1, size: '1024*768', prompt_extend: false },
    });
    const r = await row(id);
    expect(r.provider).toBe('dashscope');
    expect(r.providerJob).toMatchObject({ type: 't2i', model: 'wan2.2-t2i-flash' });
  });

  test('i2i: the reference goes inline to the image-editing model', async () => {
    const file = await uploadPng(u);
    const id = await createTask(u.token, { type: 'i2i', prompt: 'make it snowy', image: file, parameters: { strength: 0.6, negative_prompt: 'blur' } });
    const done = await waitTask(u.token, id);
    expect(done.status).toBe('completed');
    await expectLabelledCopy((await download(u.token, done.result_url)).bytes, fake.bytes('image'));
    const [sub] = submissionFor('make it snowy');
    expect(sub.path).toBe('/api/v1/services/aigc/image2image/image-synthesis');
    expect(sub.body.model).toBe('wanx2.1-imageedit');
    expect(sub.body.input.function).toBe('description_edit');
    expect(sub.body.input.negative_prompt).toBe('blur');
    expect(sub.body.input.base_image_url).toStartWith('data:image/png;base64,');
    expect(sub.body.parameters).toEqual({ n: 1, strength: 0.6 });
  });

  test('t2v: a video task; the MP4 is stored as returned', async () => {
    const id = await createTask(u.token, { type: 't2v', prompt: 'waves at dusk', parameters: { duration: 5, fps: 24 } });
    const done = await waitTask(u.token, id);
    expect(done.status).toBe('completed');
    expect(done.result_url).toEndWith('.mp4');
    await expectLabelledCopy((await download(u.token, done.result_url)).bytes, fake.bytes('video'));
    const [sub] = submissionFor('waves at dusk');
    expect(sub.path).toBe('/api/v1/services/aigc/video-generation/video-synthesis');
    expect(sub.body).toEqual({ model: 'wan2.2-t2v-plus', input: { prompt: 'waves at dusk' }, parameters: { duration: 5 } });
  });

  test('i2v: the first frame goes as input.img_url', async () => {
    const file = await uploadPng(u);
    const id = await createTask(u.token, { type: 'i2v', prompt: 'the leaves move', image: file });
    const done = await waitTask(u.token, id);
    expect(done.status).toBe('completed');
    await expectLabelledCopy((await download(u.token, done.result_url)).bytes, fake.bytes('video'));
    const [sub] = submissionFor('the leaves move');
    expect(sub.body.model).toBe('wan2.2-i2v-flash');
    expect(sub.body.input.img_url).toStartWith('data:image/png;base64,');
  });
});

describe('dashscope: failures', () => {
  test('429 Throttling on submit is retried and the task still completes (one task created)', async () => {
    fake.throttle(1);
    const id = await createTask(u.token, { type: 't2i', prompt: 'throttled once' });
    const done = await waitTask(u.token, id);
    expect(done.status).toBe('completed');
    expect(submissionFor('throttled once').length).toBe(2); // the 429 and the accepted one
    expect(lines.some((l) => l.includes('HTTP 429') && l.includes('retry 1/'))).toBe(true);
  });

  test('a safety refusal on submit (DataInspectionFailed) fails the task with a short Chinese message', async () => {
    const id = await createTask(u.token, { type: 't2i', prompt: 'something forbidden' });
    const done = await waitTask(u.token, id);
    expect(done.status).toBe('failed');
    expect(done.error).toBe('内容未通过安全审核');
    expect(JSON.stringify(done)).not.toMatch(/DataInspection|inappropriate|127\.0\.0\.1|dashscope/i);
    expect(lines.some((l) => l.includes('DataInspectionFailed'))).toBe(true); // the provider's words are logged
  });

  test('a task that fails the output inspection is refused the same way', async () => {
    const id = await createTask(u.token, { type: 't2v', prompt: 'unsafe-output please' });
    const done = await waitTask(u.token, id);
    expect(done.status).toBe('failed');
    expect(done.error).toBe('内容未通过安全审核');
    expect(submissionFor('unsafe-output please').length).toBe(1);
  });

  test('parameters the service rejects (InvalidParameter) fail with 参数不被生成服务接受', async () => {
    const id = await createTask(u.token, { type: 't2i', prompt: 'odd size', parameters: { size: 'huge' } });
    const done = await waitTask(u.token, id);
    expect(done.status).toBe('failed');
    expect(done.error).toBe('参数不被生成服务接受');
    expect(done.error).not.toContain('huge');
  });

  test('a wrong key: the task fails with the generic message, the 401 is logged without any key', async () => {
    await usePool({ apiKey: 'sk-wrong-key-0123456789' });
    try {
      const id = await createTask(u.token, { type: 't2i', prompt: 'wrong key' });
      const done = await waitTask(u.token, id);
      expect(done.status).toBe('failed');
      expect(done.error).toBe(MSG_UNAVAILABLE);
      expect(lines.some((l) => l.includes('InvalidApiKey'))).toBe(true);
      expect(lines.join('\n')).not.toContain('sk-wrong-key-0123456789');
    } finally {
      await usePool();
    }
  });
});

describe('dashscope: provider links, resume, cancel', () => {
  test('the provider link expires after completion; our stored copy is still served', async () => {
    const id = await createTask(u.token, { type: 't2i', prompt: 'keep a copy' });
    const done = await waitTask(u.token, id);
    expect(done.status).toBe('completed');
    const taskId = ((await row(id)).providerJob as { taskId: string }).taskId;
    const view: any = await (await fetch(`${fake.url}/api/v1/tasks/${taskId}`, { headers: { authorization: `Bearer ${fake.key}` } })).json();
    const link: string = view.output.results[0].url;
    expect((await fetch(link)).status).toBe(200);
    fake.expireLinks();
    const expired = await fetch(link);
    expect(expired.status).toBe(403);
    expect(await expired.text()).toContain('Request has expired');
    const copy = await download(u.token, done.result_url);
    expect(copy.status).toBe(200);
    await expectLabelledCopy(copy.bytes, fake.bytes('image'));
  });

  test('a link already expired when the task finishes: failed with the generic message, no provider URL leaks', async () => {
    fake.linkTtlMs = -1;
    try {
      const id = await createTask(u.token, { type: 't2i', prompt: 'too late' });
      const done = await waitTask(u.token, id);
      expect(done.status).toBe('failed');
      expect(done.error).toBe(MSG_UNAVAILABLE);
      expect(lines.some((l) => l.includes('HTTP 403') && l.includes('/oss/'))).toBe(true);
      // logged without the signed query
      expect(lines.join('\n')).not.toContain('Signature=');
    } finally {
      fake.linkTtlMs = 24 * 3600_000;
    }
  });

  test('resume: the runner stops while the job runs; the next one polls the saved job — one submission', async () => {
    fake.hold = true;
    const id = await createTask(u.token, { type: 't2v', prompt: 'resume me' });
    const saved = await until('the saved job', async () => (await row(id)).providerJob as { taskId: string } | null);
    await until('a poll of the saved job', () => fake.polls().some((r) => r.path.endsWith(saved.taskId)));
    // the instance stops at once (grace 0): the task goes back to the queue with its saved job
    await usePool({}, 0);
    const pollsBefore = fake.polls().filter((r) => r.path.endsWith(saved.taskId)).length;
    await until('a poll by the new runner', () => fake.polls().filter((r) => r.path.endsWith(saved.taskId)).length > pollsBefore);
    fake.hold = false;
    const done = await waitTask(u.token, id);
    expect(done.status).toBe('completed');
    await expectLabelledCopy((await download(u.token, done.result_url)).bytes, fake.bytes('video'));
    expect(submissionFor('resume me').length).toBe(1);
    expect(lines.some((l) => l.includes(`resuming provider job ${saved.taskId}`))).toBe(true);
  });

  test('cancel: the task ends failed/已取消/canceled and DashScope is told (POST /tasks/{id}/cancel)', async () => {
    fake.hold = true;
    try {
      const id = await createTask(u.token, { type: 't2i', prompt: 'cancel me' });
      const saved = await until('the saved job', async () => (await row(id)).providerJob as { taskId: string } | null);
      await until('a poll', () => fake.polls().some((r) => r.path.endsWith(saved.taskId)));
      const polling = await call('GET', `/api/v1/generation/${id}`, { token: u.token });
      expect(polling.body.data.status).toBe('processing');
      const res = await call('POST', `/api/v1/generation/${id}/cancel`, { token: u.token });
      expect(res.body.code).toBe(200);
      expect(res.body.data).toMatchObject({ status: 'failed', error: '已取消', canceled: true });
      const cancel = await until('the provider cancel', () => fake.cancels().find((r) => r.path === `/api/v1/tasks/${saved.taskId}/cancel`));
      expect(cancel.authorized).toBe(true);
      const done = await waitTask(u.token, id);
      expect(done).toMatchObject({ status: 'failed', error: '已取消', canceled: true });
      await until('the cancel logged', () => lines.some((l) => l.includes(`dashscope task ${saved.taskId}: canceled at the provider`)));
    } finally {
      fake.hold = false;
    }
  });
});

describe('dashscope: settings', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'dashscope-config-'));

  const load = (env: Record<string, string>) => () => loadConfig({ DATA_DIR: dataDir, FFMPEG_PATH: ffmpegPath, ...env });

  test('a route to dashscope without DASHSCOPE_API_KEY stops start-up naming the variable', () => {
    expect(load({ GENERATION_ROUTES: 't2i=dashscope' })).toThrow(ConfigError);
    expect(load({ GENERATION_ROUTES: 't2i=dashscope' })).toThrow(/DASHSCOPE_API_KEY/);
  });

  test('an empty model setting means the type is not served; a route to it names the variable', () => {
    const env = { GENERATION_ROUTES: 't2v=dashscope', DASHSCOPE_API_KEY: 'k', DASHSCOPE_T2V_MODEL: '' };
    expect(load(env)).toThrow(/DASHSCOPE_T2V_MODEL/);
    // unrouted, the empty type is simply not served
    const s = dashscopeProvider.settings({ DASHSCOPE_API_KEY: 'k', DASHSCOPE_T2V_MODEL: '', GENERATION_ROUTES: 't2i=dashscope' });
    expect(createDashScopeProvider(s, rt).types).toEqual(['t2i', 'i2i', 'i2v']);
  });

  test('a bad base URL names DASHSCOPE_BASE_URL; defaults are read otherwise', () => {
    expect(load({ GENERATION_ROUTES: 't2i=dashscope', DASHSCOPE_API_KEY: 'k', DASHSCOPE_BASE_URL: 'ftp://x' })).toThrow(/DASHSCOPE_BASE_URL/);
    const config = load({ GENERATION_ROUTES: 't2i=dashscope,i2v=dashscope', DASHSCOPE_API_KEY: 'k', DASHSCOPE_I2V_MODEL: 'wanx2.1-i2v-turbo' })();
    expect(config.providerSettings.dashscope).toEqual({
      apiKey: 'k',
      baseUrl: 'https://dashscope.aliyuncs.com',
      models: { t2i: 'wan2.2-t2i-flash', i2i: 'wanx2.1-imageedit', t2v: 'wan2.2-t2v-plus', i2v: 'wanx2.1-i2v-turbo' },
      concurrency: 2,
    });
  });
});

test('dashscope: the API key never reaches a log line', () => {
  expect(lines.length).toBeGreaterThan(10);
  const all = lines.join('\n');
  expect(all).not.toContain(fake.key);
  expect(all).toContain('dashscope');
});
