// The `openai` provider (src/providers/openai.ts) end to end through the real HTTP interface, against a fake
// OpenAI-compatible server (test/fakes/openai.ts): the four task types, retry after 429, refusals, output links
// that expire, resume after a stop and after kill -9, cancel, progress, settings, and no API key in the logs.
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from 'bun:test';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { eq } from 'drizzle-orm';
import { ConfigError, loadConfig } from '../src/config';
import { tasks } from '../src/db/schema';
import { MSG_UNAVAILABLE } from '../src/generation/runner';
import type { Logger } from '../src/logger';
import { probeImageSize } from '../src/media';
import {
  createOpenAIProvider,
  MSG_INVALID,
  MSG_SAFETY,
  nearestSize,
  openaiProvider,
  type OpenAISettings,
  readOpenAISettings,
  secondsFor,
} from '../src/providers/openai';
import { type ProviderContext, ProviderUnavailable } from '../src/providers/types';
import { type FakeOpenAI, startFakeOpenAI } from './fakes/openai';
import { TEST_LABEL_KEY, testEnv, type TestEnv } from './support/env';
import { ffmpegPath } from './support/ffprobe';
import { expectLabelledCopy } from './support/labels';
import { call, newUser, type TestUser, uploadPng } from './support/http';
import { gradientPng } from './support/images';
import { type ServerProcess, spawnServer } from './support/server-process';
import { createTask, download, waitTask } from './support/tasks';

setDefaultTimeout(60_000);

const ALL = { t2i: 'openai', i2i: 'openai', t2v: 'openai', i2v: 'openai' } as const;

let fake: FakeOpenAI;
let env: TestEnv;
let user: TestUser;
/** every line any runner of this file logged (the key must never be among them) */
const logs: string[] = [];
const recorder: Logger = {
  info: (m) => logs.push(`INFO ${m}`),
  warn: (m) => logs.push(`WARN ${m}`),
  error: (m, e) => logs.push(`ERROR ${m} ${e instanceof Error ? `${e.message}\n${e.stack}` : String(e ?? '')}`),
};

const settings = (over: Partial<OpenAISettings> = {}): OpenAISettings => ({
  baseUrl: fake.baseUrl,
  apiKey: fake.apiKey,
  imageModel: 'gpt-image-1',
  videoModel: 'sora-2',
  concurrency: 4,
  pollMinMs: 50,
  pollMaxMs: 200,
  ...over,
});
const provider = (over: Partial<OpenAISettings> = {}) =>
  createOpenAIProvider(settings(over), { maxOutputBytes: 64 * 1024 * 1024, downloadTimeoutMs: 10_000 });
const usePool = (over: Partial<OpenAISettings> = {}, graceMs = 0) =>
  env.replacePool({ providers: [provider(over)], routes: ALL, log: recorder, leaseMs: 1500 }, graceMs);

/** Waits until fn() is truthy. */
async function until<T>(fn: () => T | Promise<T>, what: string, timeoutMs = 20_000): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await Bun.sleep(20);
  }
}

/** The fake's record of requests whose body had this prompt. */
const sentWith = (prompt: string, method = 'POST') =>
  fake.requests.filter((r) => r.method === method && typeof r.fields.prompt === 'string' && r.fields.prompt.startsWith(prompt));
const videoOf = (prompt: string) => [...fake.videos.values()].find((v) => v.prompt.startsWith(prompt));


const upload = async (u: TestUser, bytes: Uint8Array) => (await uploadPng(u, bytes)).file_id;

/** The task's error never carries the provider's words, URLs or hosts. */
function expectNoLeak(error: string) {
  for (const bad of ['127.0.0.1', 'http', 'openai', 'moderation', 'safety', 'rejected', 'request', fake.apiKey]) {
    expect(error.toLowerCase()).not.toContain(bad.toLowerCase());
  }
}

beforeAll(async () => {
  fake = await startFakeOpenAI();
  env = await testEnv();
  user = await newUser('oai');
  await usePool();
});

afterAll(async () => {
  await env.replacePool(); // the default local engine again, for the files that run after this one
  await fake.stop();
});

describe('sizes and seconds', () => {
  test('fixed-size models get the nearest supported size (aspect first, then area); others get WxH', () => {
    const gpt = ['1024x1024', '1536x1024', '1024x1536'];
    expect(nearestSize(1024, 1024, gpt)).toBe('1024x1024');
    expect(nearestSize(1200, 800, gpt)).toBe('1536x1024');
    expect(nearestSize(200, 150, gpt)).toBe('1536x1024');
    expect(nearestSize(512, 1024, gpt)).toBe('1024x1536');
    const pro = ['720x1280', '1280x720', '1024x1792', '1792x1024'];
    expect(nearestSize(720, 1280, pro)).toBe('720x1280');
    expect(nearestSize(1792, 1024, pro)).toBe('1792x1024');
    expect(nearestSize(2048, 1152, pro)).toBe('1792x1024');
    expect(nearestSize(640, 480, ['256x256', '512x512', '1024x1024'])).toBe('512x512');
    expect(secondsFor('sora-2', 1)).toBe('4');
    expect(secondsFor('sora-2-pro', 7)).toBe('8');
    expect(secondsFor('sora-2', 10)).toBe('8');
    expect(secondsFor('sora-2', null)).toBeNull();
    expect(secondsFor('wan-2.1', 3)).toBe('3');
  });
});

describe('openai provider end to end', () => {
  test('t2i: JSON to /images/generations with the nearest size; the b64_json bytes are stored exactly', async () => {
    const prompt = 'oai t2i a red fox in a snowy forest';
    const id = await createTask(user.token, { type: 't2i', prompt, parameters: { width: 1200, height: 800, quality: 'low', seed: 3 } });
    const done = await waitTask(user.token, id);
    expect(done.status).toBe('completed');
    const [sent] = sentWith(prompt);
    expect(sent.path).toBe('/v1/images/generations');
    expect(sent.authorization).toBe(`Bearer ${fake.apiKey}`);
    expect(sent.contentType).toContain('application/json');
    expect(sent.fields).toEqual({ model: 'gpt-image-1', prompt, n: 1, size: '1536x1024', quality: 'low' });
    const file = await download(user.token, done.result_url);
    expect(file.status).toBe(200);
    expect(file.headers.get('content-type')).toBe('image/png');
    await expectLabelledCopy(file.bytes, fake.imagesByPrompt.get(prompt)!);
  });

  test('t2i: style and negative_prompt are put into the prompt in words', async () => {
    const prompt = 'oai t2i styled lighthouse';
    const id = await createTask(user.token, { type: 't2i', prompt, parameters: { style: '水彩', negative_prompt: 'people, text' } });
    expect((await waitTask(user.token, id)).status).toBe('completed');
    const [sent] = sentWith(prompt);
    expect(sent.fields.prompt).toBe(`${prompt}\nStyle: 水彩\nAvoid: people, text`);
    expect(sent.fields.size).toBeUndefined(); // no width/height: the server's default
  });

  test('i2i: multipart to /images/edits with the key reference as `image`', async () => {
    const ref = await gradientPng(200, 150);
    const fileId = await upload(user, ref);
    const prompt = 'oai i2i make it an oil painting';
    const id = await createTask(user.token, { type: 'i2i', prompt, image: fileId });
    const done = await waitTask(user.token, id);
    expect(done.status).toBe('completed');
    const [sent] = sentWith(prompt);
    expect(sent.path).toBe('/v1/images/edits');
    expect(sent.contentType).toContain('multipart/form-data');
    expect(sent.fields).toMatchObject({ model: 'gpt-image-1', prompt, n: '1', size: '1536x1024' });
    expect(Buffer.compare(sent.files.image.bytes, ref)).toBe(0);
    expect(sent.files.image.type).toBe('image/png');
    const file = await download(user.token, done.result_url);
    await expectLabelledCopy(file.bytes, fake.imagesByPrompt.get(prompt)!);
  });

  test('t2v: a video job is created, polled (progress) and its /content stored exactly', async () => {
    const prompt = 'oai t2v ocean waves at dusk';
    const id = await createTask(user.token, { type: 't2v', prompt, parameters: { width: 1280, height: 720, duration: 7 } });
    const done = await waitTask(user.token, id);
    expect(done.status).toBe('completed');
    expect(done.result_url).toBe(`/generated_outputs/${id}.mp4`);
    const [sent] = sentWith(prompt);
    expect(sent.path).toBe('/v1/videos');
    expect(sent.fields).toEqual({ model: 'sora-2', prompt, size: '1280x720', seconds: '8' });
    const video = videoOf(prompt)!;
    expect(fake.count('GET', new RegExp(`^/v1/videos/${video.id}$`))).toBeGreaterThanOrEqual(3);
    const content = fake.requests.find((r) => r.path === `/v1/videos/${video.id}/content`)!;
    expect(content.authorization).toBe(`Bearer ${fake.apiKey}`);
    const file = await download(user.token, done.result_url);
    expect(file.headers.get('content-type')).toBe('video/mp4');
    await expectLabelledCopy(file.bytes, fake.mp4);
  });

  test('i2v: multipart with `input_reference`, cropped and scaled to exactly the video size Sora asks for', async () => {
    const fileId = await upload(user, await gradientPng(200, 150));
    const prompt = 'oai i2v the scene comes to life';
    const id = await createTask(user.token, { type: 'i2v', prompt, image: fileId, parameters: { duration: 4 } });
    const done = await waitTask(user.token, id);
    expect(done.status).toBe('completed');
    const [sent] = sentWith(prompt);
    expect(sent.contentType).toContain('multipart/form-data');
    expect(sent.fields).toEqual({ model: 'sora-2', prompt, size: '1280x720', seconds: '4' });
    const ref = probeImageSize(sent.files.input_reference.bytes);
    expect([ref.kind, ref.width, ref.height]).toEqual(['png', 1280, 720]);
    const file = await download(user.token, done.result_url);
    await expectLabelledCopy(file.bytes, fake.mp4);
  });

  test('other models (LocalAI, vLLM-Omni …): WxH and seconds as asked, the reference unchanged, `url` answers downloaded', async () => {
    await usePool({ imageModel: 'stablediffusion', videoModel: 'wan-2.1' });
    fake.imageFormat = 'url';
    try {
      const p1 = 'oai passthrough t2i';
      const a = await createTask(user.token, { type: 't2i', prompt: p1, parameters: { width: 640, height: 480 } });
      const ref = await gradientPng(96, 64);
      const p2 = 'oai passthrough i2v';
      const b = await createTask(user.token, { type: 'i2v', prompt: p2, image: await upload(user, ref), parameters: { duration: 3 } });
      const da = await waitTask(user.token, a);
      const db = await waitTask(user.token, b);
      expect([da.status, db.status]).toEqual(['completed', 'completed']);
      expect(sentWith(p1)[0].fields).toEqual({ model: 'stablediffusion', prompt: p1, n: 1, size: '640x480' });
      const v = sentWith(p2)[0];
      expect(v.fields).toEqual({ model: 'wan-2.1', prompt: p2, size: '96x64', seconds: '3' });
      expect(Buffer.compare(v.files.input_reference.bytes, ref)).toBe(0);
      // the signed link is fetched without our key
      const link = fake.requests.find((r) => r.path.startsWith('/private/') && r.method === 'GET')!;
      expect(link.authorization).toBeNull();
      await expectLabelledCopy((await download(user.token, da.result_url)).bytes, fake.imagesByPrompt.get(p1)!);
    } finally {
      fake.imageFormat = 'b64_json';
      await usePool();
    }
  });

  test('429 (rate_limit_exceeded, retry-after) once on submit and a 500 once on a poll: retried, the tasks complete', async () => {
    fake.failNext(/^POST \/v1\/images\/generations$/, '429');
    const prompt = 'oai rate limited image';
    const id = await createTask(user.token, { type: 't2i', prompt });
    const done = await waitTask(user.token, id);
    expect(done.status).toBe('completed');
    expect(sentWith(prompt).length).toBe(2); // the 429, then the one that answered
    await expectLabelledCopy((await download(user.token, done.result_url)).bytes, fake.imagesByPrompt.get(prompt)!);
    expect(logs.some((l) => l.includes('openai images/generations: HTTP 429; retry 1/4 in 1000 ms'))).toBe(true);

    fake.failNext(/^POST \/v1\/videos$/, '429');
    fake.failNext(/^GET \/v1\/videos\/video_/, '500');
    const vprompt = 'oai rate limited video';
    const vid = await createTask(user.token, { type: 't2v', prompt: vprompt });
    expect((await waitTask(user.token, vid)).status).toBe('completed');
    expect(sentWith(vprompt).length).toBe(2);
    expect(fake.videos.size).toBeGreaterThan(0);
    expect([...fake.videos.values()].filter((v) => v.prompt === vprompt).length).toBe(1);
  });

  test('refusals: the safety system (at submit, and a video that fails later) and invalid input, in short Chinese', async () => {
    const cases: [Record<string, unknown>, string][] = [
      [{ type: 't2i', prompt: 'oai refuse forbidden image' }, MSG_SAFETY],
      [{ type: 't2v', prompt: 'oai refuse forbidden video' }, MSG_SAFETY],
      [{ type: 't2v', prompt: 'oai refuse a video that explodes later' }, MSG_SAFETY],
      [{ type: 't2i', prompt: 'oai refuse bad quality', parameters: { quality: 'ultra' } }, MSG_INVALID],
    ];
    const ids = await Promise.all(cases.map(([body]) => createTask(user.token, body)));
    for (const [i, id] of ids.entries()) {
      const done = await waitTask(user.token, id);
      expect(done.status).toBe('failed');
      expect(done.error).toBe(cases[i][1]);
      expectNoLeak(done.error);
    }
    // the provider's own words are in the log
    expect(logs.some((l) => l.includes('moderation_blocked') && l.includes('rejected by the safety system'))).toBe(true);
    expect(logs.some((l) => l.includes('invalid_value') && l.includes("Invalid value: 'ultra'"))).toBe(true);
    expect(logs.some((l) => l.includes('failed: moderation_blocked: The generated video was blocked'))).toBe(true);
  });

  test("the provider's links expire after completion; our stored copies are still served", async () => {
    fake.imageFormat = 'url';
    fake.linkTtlMs = 1500;
    try {
      const p1 = 'oai expiring image link';
      const p2 = 'oai expiring video content';
      const a = await createTask(user.token, { type: 't2i', prompt: p1 });
      const b = await createTask(user.token, { type: 't2v', prompt: p2 });
      const da = await waitTask(user.token, a);
      const db = await waitTask(user.token, b);
      expect([da.status, db.status]).toEqual(['completed', 'completed']);
      await Bun.sleep(1600);
      const link = fake.issuedLinks.at(-1)!;
      const expired = await fetch(link);
      expect(expired.status).toBe(403);
      expect(await expired.text()).toContain('AuthenticationFailed');
      const content = await fetch(`${fake.baseUrl}/videos/${videoOf(p2)!.id}/content`, { headers: { authorization: `Bearer ${fake.apiKey}` } });
      expect(content.status).toBe(404);
      await content.body?.cancel();
      const fa = await download(user.token, da.result_url);
      const fb = await download(user.token, db.result_url);
      expect(fa.status).toBe(200);
      await expectLabelledCopy(fa.bytes, fake.imagesByPrompt.get(p1)!);
      expect(fb.status).toBe(200);
      await expectLabelledCopy(fb.bytes, fake.mp4);
    } finally {
      fake.imageFormat = 'b64_json';
      fake.linkTtlMs = 60 * 60 * 1000;
    }
  });

  test('progress is visible in poll and history while the video runs; cancel ends it 已取消 and DELETEs the video', async () => {
    fake.hold = true;
    try {
      const prompt = 'oai cancel me while rendering';
      const id = await createTask(user.token, { type: 't2v', prompt });
      const poll = await until(async () => {
        const r = await call('GET', `/api/v1/generation/${id}`, { token: user.token });
        return r.body.data.progress > 0 ? r.body.data : null;
      }, 'progress in poll');
      expect(poll.status).toBe('processing');
      expect(poll.progress).toBeLessThanOrEqual(99);
      const history = await call('GET', '/api/v1/user/generation_list', { token: user.token });
      const item = history.body.data.find((t: { task_id: string }) => t.task_id === id);
      expect(item).toMatchObject({ status: 'processing', progress: expect.any(Number) });
      const video = videoOf(prompt)!;
      const res = await call('POST', `/api/v1/generation/${id}/cancel`, { token: user.token });
      expect(res.body.code).toBe(200);
      const done = await waitTask(user.token, id);
      expect(done).toMatchObject({ status: 'failed', error: '已取消', canceled: true });
      await until(() => fake.count('DELETE', new RegExp(`^/v1/videos/${video.id}$`)) === 1, 'the DELETE of the video');
      expect(fake.videos.get(video.id)!.deleted).toBe(true);
    } finally {
      fake.hold = false;
    }
  });

  test('resume: a runner stopped during a video job gives it back; the next one polls the same job (one submission)', async () => {
    fake.hold = true;
    try {
      const prompt = 'oai resume the running video';
      const id = await createTask(user.token, { type: 't2v', prompt });
      const video = await until(() => {
        const v = videoOf(prompt);
        return v && fake.count('GET', new RegExp(`^/v1/videos/${v.id}$`)) >= 1 ? v : null;
      }, 'the first poll');
      const [row] = await env.database.db.select({ provider: tasks.provider, job: tasks.providerJob }).from(tasks).where(eq(tasks.id, id));
      expect(row.provider).toBe('openai');
      expect(row.job).toMatchObject({ api: 'videos', id: video.id });
      await usePool({}, 0); // stops the runner at once (the task is re-queued with its job) and starts a new one
      const polls = fake.count('GET', new RegExp(`^/v1/videos/${video.id}$`));
      await until(() => fake.count('GET', new RegExp(`^/v1/videos/${video.id}$`)) > polls, 'a poll by the new runner');
      fake.hold = false;
      const done = await waitTask(user.token, id);
      expect(done.status).toBe('completed');
      expect(sentWith(prompt).length).toBe(1);
      await expectLabelledCopy((await download(user.token, done.result_url)).bytes, fake.mp4);
      expect(logs.some((l) => l.includes(`resuming openai video ${video.id}`))).toBe(true);
    } finally {
      fake.hold = false;
    }
  });

  test('resume of an image request: sent again only when no answer was recorded', async () => {
    fake.imageDelayMs = 1500;
    try {
      const prompt = 'oai resume the slow image';
      const id = await createTask(user.token, { type: 't2i', prompt });
      await until(() => sentWith(prompt).length === 1, 'the image request');
      await usePool({}, 0); // aborts the request in flight: no answer was recorded
      const done = await waitTask(user.token, id);
      expect(done.status).toBe('completed');
      expect(sentWith(prompt).length).toBe(2);
      expect(logs.some((l) => l.includes('was sent before the restart without a recorded answer'))).toBe(true);
    } finally {
      fake.imageDelayMs = 0;
    }

    // directly: an answer with a link is downloaded again, an answer without one is not paid for twice
    const p = provider();
    const before = fake.requests.length;
    const ctx = (resume: unknown): ProviderContext => ({
      signal: new AbortController().signal,
      resume,
      saveJob: async () => {},
      progress: () => {},
      log: recorder,
    });
    const job = { taskId: 'task_direct', type: 't2i' as const, prompt: 'direct', parameters: {}, references: [], visibleLabel: false, sampleFrames: 0 };
    fake.imageFormat = 'url';
    try {
      await p.run({ ...job, prompt: 'oai direct link' }, ctx(null));
    } finally {
      fake.imageFormat = 'b64_json';
    }
    const link = fake.issuedLinks.at(-1)!;
    const posts = fake.count('POST', /^\/v1\/images/);
    const again = await p.run(job, ctx({ api: 'images', endpoint: 'generations', sentAt: 'x', answered: true, url: link }));
    expect(Buffer.compare(again.bytes, fake.imagesByPrompt.get('oai direct link')!)).toBe(0);
    await expect(p.run(job, ctx({ api: 'images', endpoint: 'generations', sentAt: 'x', answered: true }))).rejects.toBeInstanceOf(ProviderUnavailable);
    expect(fake.count('POST', /^\/v1\/images/)).toBe(posts);
    expect(fake.requests.length).toBeGreaterThan(before);
  });

  test('a wrong API key: 401 from the server, the task fails with the generic message, no key (nor part of it) logged', async () => {
    const wrongKey = 'sk-wrong-key-abcdefghijklmnop-WRONG';
    await usePool({ apiKey: wrongKey });
    try {
      const id = await createTask(user.token, { type: 't2i', prompt: 'oai with a wrong key' });
      const done = await waitTask(user.token, id);
      expect(done).toMatchObject({ status: 'failed', error: MSG_UNAVAILABLE });
      expect(logs.some((l) => l.includes('HTTP 401 invalid_api_key'))).toBe(true);
      const all = logs.join('\n');
      expect(all).not.toContain(wrongKey);
      expect(all).not.toContain(wrongKey.slice(0, 6) + '*');
      expect(all).not.toContain('Incorrect API key');
    } finally {
      await usePool();
    }
  });

  test('no log line carries the API key, an Authorization header or a signed link query', () => {
    expect(logs.length).toBeGreaterThan(10);
    const all = logs.join('\n');
    expect(all).not.toContain(fake.apiKey);
    expect(all.toLowerCase()).not.toContain('bearer');
    expect(all).not.toContain('sig=');
  });
});

describe('settings', () => {
  const dir = () => mkdtempSync(join(tmpdir(), 'aigc-oai-'));

  test('read from the environment with defaults; a missing key or a bad value names its variable', () => {
    expect(readOpenAISettings({ OPENAI_API_KEY: 'sk-x' })).toEqual({
      baseUrl: 'https://api.openai.com/v1',
      apiKey: 'sk-x',
      imageModel: 'gpt-image-1',
      videoModel: 'sora-2',
      concurrency: 4,
    });
    expect(
      readOpenAISettings({
        OPENAI_API_KEY: 'k',
        OPENAI_BASE_URL: 'http://localai:8080/v1/',
        OPENAI_IMAGE_MODEL: 'stablediffusion',
        OPENAI_VIDEO_MODEL: 'wan',
        OPENAI_CONCURRENCY: '2',
      }),
    ).toMatchObject({ baseUrl: 'http://localai:8080/v1', imageModel: 'stablediffusion', videoModel: 'wan', concurrency: 2 });
    const bad: [Record<string, string>, string][] = [
      [{}, 'OPENAI_API_KEY'],
      [{ OPENAI_API_KEY: '  ' }, 'OPENAI_API_KEY'],
      [{ OPENAI_API_KEY: 'k', OPENAI_BASE_URL: 'not a url' }, 'OPENAI_BASE_URL'],
      [{ OPENAI_API_KEY: 'k', OPENAI_BASE_URL: 'ftp://host/v1' }, 'OPENAI_BASE_URL'],
      [{ OPENAI_API_KEY: 'k', OPENAI_CONCURRENCY: '0' }, 'OPENAI_CONCURRENCY'],
    ];
    for (const [e, name] of bad) {
      expect(() => openaiProvider.settings(e)).toThrow(ConfigError);
      expect(() => openaiProvider.settings(e)).toThrow(name);
    }
  });

  test('start-up: a route to openai without OPENAI_API_KEY stops loadConfig naming the variable', () => {
    let caught: unknown;
    try {
      loadConfig({ DATA_DIR: dir(), GENERATION_ROUTES: 't2i=openai' });
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(ConfigError);
    expect((caught as Error).message).toContain('OPENAI_API_KEY');
    expect(() => loadConfig({ DATA_DIR: dir(), GENERATION_ROUTES: 't2v=openai', OPENAI_API_KEY: 'k', OPENAI_BASE_URL: 'nope' })).toThrow('OPENAI_BASE_URL');
    const ok = loadConfig({ DATA_DIR: dir(), GENERATION_ROUTES: 't2i=openai,i2v=openai', OPENAI_API_KEY: 'k', FFMPEG_PATH: ffmpegPath });
    expect(ok.generationRoutes).toEqual({ t2i: 'openai', i2i: 'local', t2v: 'local', i2v: 'openai' });
    expect(ok.providerSettings.openai).toMatchObject({ apiKey: 'k', baseUrl: 'https://api.openai.com/v1' });
  });
});

describe('kill -9 during a provider job', () => {
  function startServer(dataDir: string) {
    const env: Record<string, string> = {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? tmpdir(),
      DATA_DIR: dataDir,
      JWT_SECRET: 'kill9-secret-0123456789-0123456789-abcdef',
      WORKERS: '1',
      GENERATION_ROUTES: 't2v=openai',
      OPENAI_BASE_URL: fake.baseUrl,
      OPENAI_API_KEY: fake.apiKey,
      TASK_LEASE: '2',
      FFMPEG_PATH: ffmpegPath,
      AIGC_LABEL_KEY: TEST_LABEL_KEY,
      PGLITE_SEED: process.env.PGLITE_SEED ?? '',
    };
    if (process.env.TEST_DATABASE_URL) env.DATABASE_URL = process.env.TEST_DATABASE_URL;
    return spawnServer({ env });
  }

  async function api(base: string, method: string, path: string, body?: unknown, token?: string): Promise<any> {
    const headers: Record<string, string> = {};
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (token) headers.authorization = `Bearer ${token}`;
    const res = await fetch(`${base}${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    return res.headers.get('content-type')?.includes('json') ? res.json() : new Uint8Array(await res.arrayBuffer());
  }

  test('the restarted server resumes the saved video job: completed, and the fake saw exactly one POST /videos', async () => {
    // with TEST_DATABASE_URL the spawned servers share this process's database: let this runner claim nothing meanwhile
    await env.replacePool({ routes: {} });
    const dataDir = mkdtempSync(join(tmpdir(), 'aigc-oai-kill-'));
    fake.hold = true;
    let server: ServerProcess | undefined;
    try {
      server = await startServer(dataDir);
      let base = server.base;
      const account = `k9${Date.now().toString(36)}`;
      const reg = await api(base, 'POST', '/api/v1/auth/register', { account, email: `${account}@example.com`, password: 'User@1234' });
      expect(reg.code).toBe(200);
      const token = (await api(base, 'POST', '/api/v1/auth/login', { account, password: 'User@1234' })).data.token;
      const prompt = `oai kill -9 ${account}`;
      const created = await api(base, 'POST', '/api/v1/generation', { type: 't2v', prompt }, token);
      expect(created.code).toBe(200);
      const id = created.data.task_id;
      const video = await until(() => {
        const v = videoOf(prompt);
        return v && fake.count('GET', new RegExp(`^/v1/videos/${v.id}$`)) >= 1 ? v : null;
      }, 'the video job to be polled');

      await server.kill9();
      const polls = fake.count('GET', new RegExp(`^/v1/videos/${video.id}$`));
      server = await startServer(dataDir);
      base = server.base;
      await until(() => fake.count('GET', new RegExp(`^/v1/videos/${video.id}$`)) > polls, 'the restarted server to poll the same video', 30_000);
      fake.hold = false;
      const done = await until(async () => {
        const r = await api(base, 'GET', `/api/v1/generation/${id}`, undefined, token);
        return r.data.status !== 'processing' ? r.data : null;
      }, 'the task to end', 30_000);
      expect(done.status).toBe('completed');
      expect(sentWith(prompt).length).toBe(1); // one POST /videos for this task, before the kill
      const bytes = (await api(base, 'GET', done.result_url, undefined, token)) as Uint8Array;
      await expectLabelledCopy(bytes, fake.mp4);
      expect(await server.stop()).toBe(0);
      expect(server.output()).toContain(`resuming openai video ${video.id}`);
    } finally {
      fake.hold = false;
      await server?.stop();
      await usePool();
    }
  }, 180_000);
});
